"""Release: turn the reference solutions into the students' exercise stubs."""
