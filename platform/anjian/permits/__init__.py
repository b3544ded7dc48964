"""Dangerous-work permits (作业票, GB 30871-2022): kinds and grades, the flow from request
through hazard identification, gas analysis and approvals to issue, work, acceptance and
closing, with the approvals a tenant's plugins ask for (``permit_approvals``)."""
