"""Feature visualisation as Lucid/Lucent do it, beside the seed's naive ascent (stage visualize@<model>).

``param``: the image as a 1/f-scaled, colour-decorrelated Fourier spectrum; ``transform``: our seeded random
shifts, scales and rotations; ``render``: the four rungs of the ladder; ``measure``: what each result scores;
``targets``: what is rendered on each model.
"""
