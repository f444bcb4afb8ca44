"""JUnit XML: a testsuite per student module, a testcase per check, failures with feedback."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..results import Report
from . import text


def render(report: Report) -> str:
    suites = ET.Element("testsuites", name="gdkit", tests=str(len(report.checks)),
                        failures=str(sum(not c.passed for c in report.checks)),
                        time=f"{report.seconds:.3f}")
    by_module: dict[str, list] = {}
    for c in report.checks:
        by_module.setdefault(c.module, []).append(c)
    for module, checks in by_module.items():
        suite = ET.SubElement(suites, "testsuite", name=module, tests=str(len(checks)),
                              failures=str(sum(not c.passed for c in checks)),
                              time=f"{sum(c.seconds for c in checks):.3f}")
        for c in checks:
            case = ET.SubElement(suite, "testcase", classname=c.key, name=c.id,
                                 time=f"{c.seconds:.3f}")
            case.set("weight", f"{float(c.max_points):.4f}")
            if not c.passed:
                failure = ET.SubElement(case, "failure", message=c.message[:500], type=c.status)
                failure.text = text.feedback(c)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
