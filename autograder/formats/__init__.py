"""Output formats, one module each, all rendered from the same Report."""
from . import classroom, gradescope, html, json, junit, markdown, prairielearn, text

RENDERERS = {"text": text.render, "json": json.render, "gradescope": gradescope.render,
             "junit": junit.render, "classroom": classroom.render,
             "prairielearn": prairielearn.render, "markdown": markdown.render,
             "html": html.render}
