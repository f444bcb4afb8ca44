"""Output formats, one module each, all rendered from the same Report."""
from . import gradescope, json, junit, text

RENDERERS = {"text": text.render, "json": json.render, "gradescope": gradescope.render,
             "junit": junit.render}
