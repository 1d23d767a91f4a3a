from visionlab.core.params import int_range, section


@section
class AttributeParams:
    """Where the attack's ship looks, clean and adversarial: Integrated Gradients and Grad-CAM (Captum)."""

    # IG's steps from the black image. Captum's Gauss-Legendre nodes solve an n x n eigenproblem (twice): about
    # 4 s at 1,000 steps and 70 s at 4,000 on one CPU core, growing as n**3; memory is bounded apart (IG_BATCH).
    n_steps: int_range(1, 1000) = 50
