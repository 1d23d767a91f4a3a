"""Write `.dvc/plots.html`: DVC's plots page with vega, vega-lite and vega-embed inlined, so that
`dvc plots show` and `dvc plots diff` render with no network (DVC's own page loads them from a CDN).

`.dvc/config` names it (`plots.html_template`); the template leaves out DVC's `{scripts}`
placeholder, which is where the CDN tags would go. Run after changing the vl-convert-python pin:

    python tools/plots_template.py
"""

from __future__ import annotations

from pathlib import Path

import vl_convert

TEMPLATE = Path(__file__).resolve().parents[1] / ".dvc/plots.html"
PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- vega {vega}, vega-embed {embed}: vl_convert.javascript_bundle() of vl-convert-python {version} -->
    <script>{bundle}</script>
    <style>table {{ border-spacing: 15px; }}</style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def page() -> str:
    """The template's text, from the installed vl-convert-python."""
    return PAGE.format(
        vega=vl_convert.get_vega_version(),
        embed=vl_convert.get_vega_embed_version(),
        version=vl_convert.__version__,
        bundle=vl_convert.javascript_bundle(),
    )


if __name__ == "__main__":
    TEMPLATE.write_text(page(), encoding="utf-8")
    print(f"wrote {TEMPLATE} ({TEMPLATE.stat().st_size:,} bytes)")
