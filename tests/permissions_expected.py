"""Who may call each route: written by hand, the isolation matrix's expected answers.

One entry per route, "METHOD rule": the roles that may call it. Tenant roles
(tenant_admin, supervisor, viewer, service_org, enterprise) are a member's role in the
route's tenant; ``platform_admin`` is a platform administrator (who also acts as a
tenant_admin in every tenant); ``authenticated`` any valid token; ``public`` anybody;
``link_holder`` whoever holds a valid access link of the route's tenant (no user token).
A member of an ancestor tenant reads as a viewer (never writes); that, and what
another tenant's member gets (404), is the matrix's own rule, not this table's.

This is data, not derived from the code: a route missing here, or a route whose
declared permission disagrees with its entry, fails tests/test_isolation_matrix.py.
Change an entry only when access is meant to change, and say so in the commit.
"""

ALLOWED: dict[str, frozenset[str]] = {
    # --- API documentation
    "GET /api/docs/assets/<path:filename>": frozenset({"public"}),
    # --- health
    "GET /healthz": frozenset({"public"}),
    "GET /readyz": frozenset({"public"}),
    # --- plugin routes (Shenyang)
    "GET /api/v1/tenants/<tenant_code>/plugins/anjian_shenyang/deadlines":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "GET /api/v1/tenants/<tenant_code>/plugins/anjian_shenyang/rules-progress":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    # --- audit log
    "GET /api/v1/audit": frozenset({"platform_admin"}),
    "GET /api/v1/tenants/<tenant_code>/audit": frozenset({"tenant_admin"}),
    # --- login, tokens, users, members
    "POST /api/v1/auth/login": frozenset({"public"}),
    "GET /api/v1/me": frozenset({"authenticated"}),
    "GET /api/v1/me/tokens": frozenset({"authenticated"}),
    "POST /api/v1/me/tokens": frozenset({"authenticated"}),
    "DELETE /api/v1/me/tokens/<int:token_id>": frozenset({"authenticated"}),
    "GET /api/v1/tenants/<tenant_code>/members": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/members": frozenset({"tenant_admin"}),
    "DELETE /api/v1/tenants/<tenant_code>/members/<int:member_id>": frozenset({"tenant_admin"}),
    "PATCH /api/v1/tenants/<tenant_code>/members/<int:member_id>": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/members/<int:member_id>/password": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/members/<int:member_id>/disable": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/members/<int:member_id>/enable": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/invitations": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/invitations": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/invitations/<int:invitation_id>/revoke": frozenset({"tenant_admin"}),
    "POST /api/v1/me/password": frozenset({"authenticated"}),
    "POST /api/v1/invitations/accept": frozenset({"authenticated"}),
    "POST /api/v1/invitations/register": frozenset({"public"}),
    "GET /api/v1/users": frozenset({"platform_admin"}),
    "POST /api/v1/users": frozenset({"platform_admin"}),
    "PATCH /api/v1/users/<int:user_id>": frozenset({"platform_admin"}),
    # --- campaigns
    "GET /api/v1/tenants/<tenant_code>/campaign-kinds":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/campaigns":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/campaigns": frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/progress":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/status":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/targets":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/targets":
        frozenset({"tenant_admin", "supervisor"}),
    "DELETE /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/targets/<int:target_id>":
        frozenset({"tenant_admin", "supervisor"}),
    "PUT /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/targets/<int:target_id>/assignee":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/tasks":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/campaigns/<int:campaign_id>/tasks/<int:task_id>/done":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    # --- enterprises
    "GET /api/v1/tenants/<tenant_code>/enterprises":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/enterprises": frozenset({"tenant_admin", "supervisor"}),
    "DELETE /api/v1/tenants/<tenant_code>/enterprises/<int:enterprise_id>":
        frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/enterprises/<int:enterprise_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>/enterprises/<int:enterprise_id>":
        frozenset({"tenant_admin", "supervisor"}),
    # --- enterprise exports
    "POST /api/v1/tenants/<tenant_code>/enterprise-exports":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "GET /api/v1/tenants/<tenant_code>/enterprise-exports/<job_id>/download":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    # --- enterprise imports
    "POST /api/v1/tenants/<tenant_code>/enterprise-imports":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/enterprise-imports/<job_id>/rejected":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/enterprise-imports/profiles":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/enterprise-imports/template":
        frozenset({"tenant_admin", "supervisor"}),
    # --- hazards, notifications, enforcement referrals
    "GET /api/v1/tenants/<tenant_code>/enforcement-referrals":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "POST /api/v1/tenants/<tenant_code>/enforcement-referrals":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/enforcement-referrals/<int:referral_id>":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "PATCH /api/v1/tenants/<tenant_code>/enforcement-referrals/<int:referral_id>":
        frozenset({"tenant_admin", "supervisor"}),
    "POST /api/v1/tenants/<tenant_code>/enforcement-referrals/<int:referral_id>/close":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/enforcement-referrals/candidates":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "GET /api/v1/tenants/<tenant_code>/hazards":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/hazards":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/hazards/<int:hazard_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>/hazards/<int:hazard_id>":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/hazards/<int:hazard_id>/history":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/hazards/<int:hazard_id>/transitions":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/hazards/<int:hazard_id>/grade":
        frozenset({"tenant_admin", "supervisor", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/notifications":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/notifications/<int:notification_id>/read":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    # --- checklists, inspections, evidence
    "GET /api/v1/tenants/<tenant_code>/checklist-templates":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/checklist-templates": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/checklist-templates/<template_key>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PUT /api/v1/tenants/<tenant_code>/checklist-templates/<template_key>":
        frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/checklist-templates/<template_key>/versions":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/evidence":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/evidence/<int:evidence_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/inspections":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/inspections":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/inspections/<int:inspection_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PUT /api/v1/tenants/<tenant_code>/inspections/<int:inspection_id>/results":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "PUT /api/v1/tenants/<tenant_code>/inspections/<int:inspection_id>/results/<int:item_id>":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/inspections/<int:inspection_id>/submit":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    # --- jobs (platform)
    "GET /api/v1/admin/jobs": frozenset({"platform_admin"}),
    "POST /api/v1/admin/jobs/<job_id>/retry": frozenset({"platform_admin"}),
    # --- jobs (tenant)
    "GET /api/v1/tenants/<tenant_code>/jobs": frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/jobs/<job_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/jobs/<job_id>/retry": frozenset({"tenant_admin"}),
    # --- metrics
    "GET /metrics": frozenset({"public"}),
    # --- reports
    "GET /api/v1/tenants/<tenant_code>/report-kinds":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "POST /api/v1/tenants/<tenant_code>/reports": frozenset({"tenant_admin", "supervisor"}),
    # A service organisation reads the reports its organisation requested and those about
    # the enterprises it serves (seed 000: its acceptance reports); any other is 404 to it.
    "GET /api/v1/tenants/<tenant_code>/reports":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/reports/<int:report_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/reports/<int:report_id>/download":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/reports/figures/<kind>/<period>":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "PUT /api/v1/tenants/<tenant_code>/reports/figures/<kind>/<period>":
        frozenset({"tenant_admin", "supervisor"}),
    # --- third-party services
    "GET /api/v1/tenants/<tenant_code>/service-contracts":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/service-contracts": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "PATCH /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>":
        frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/compliance":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/costs":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "GET /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/enterprises":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/enterprises":
        frozenset({"tenant_admin"}),
    "DELETE /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/enterprises/<int:enterprise_id>":
        frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/revoke":
        frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/spot-checks":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "POST /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/spot-checks":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/spot-checks/<int:sample_id>":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "PATCH /api/v1/tenants/<tenant_code>/service-contracts/<int:contract_id>/spot-checks"
    "/<int:sample_id>/items/<int:enterprise_id>":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/service-organisations":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/service-organisations": frozenset({"tenant_admin"}),
    "DELETE /api/v1/tenants/<tenant_code>/service-organisations/<int:organisation_id>":
        frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/service-organisations/<int:organisation_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "PATCH /api/v1/tenants/<tenant_code>/service-organisations/<int:organisation_id>":
        frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/service-organisations/<int:organisation_id>/staff":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/service-organisations/<int:organisation_id>/staff":
        frozenset({"tenant_admin"}),
    "DELETE /api/v1/tenants/<tenant_code>/service-organisations/<int:organisation_id>/staff/<int:user_id>":
        frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/service-records":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/service-records":
        frozenset({"tenant_admin", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/service-records/<int:record_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    # --- enterprise ledgers (whose entries: the enterprises the role sees)
    "GET /api/v1/tenants/<tenant_code>/ledgers/kinds":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/ledgers/attention":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/ledgers/special_workers/certified":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/entries":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/entries": frozenset({"tenant_admin", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/entries/<int:entry_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/entries/<int:entry_id>":
        frozenset({"tenant_admin", "enterprise"}),
    "DELETE /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/entries/<int:entry_id>":
        frozenset({"tenant_admin", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/imports/profile":
        frozenset({"tenant_admin", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/imports": frozenset({"tenant_admin", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/ledgers/<kind_key>/export":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    # --- dangerous-work permits (whose permits: the enterprises the role sees); an enterprise
    # (its principal or a delegate) requests and approves its own, the tenant admin any
    "GET /api/v1/tenants/<tenant_code>/permits/kinds":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/permits/key-time":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/permits":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/permits": frozenset({"tenant_admin", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/permits/open":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/permits/summary":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/permits/export":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/permits/<int:permit_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/permits/<int:permit_id>/transitions": frozenset({"tenant_admin", "enterprise"}),
    # --- dual prevention (双重预防; whose risk points: the enterprises the role sees): an
    # enterprise, the service organisation serving it or the tenant admin identifies and
    # grades; the bureau reads the four-colour picture and the city's export
    "GET /api/v1/tenants/<tenant_code>/risks/grading-scales":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/risks/catalogues":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/risks/points":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/risks/points": frozenset({"tenant_admin", "enterprise", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/risks/points/<int:point_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>/risks/points/<int:point_id>":
        frozenset({"tenant_admin", "enterprise", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/risks/points/<int:point_id>/regrade":
        frozenset({"tenant_admin", "enterprise", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/risks/points/<int:point_id>/retire":
        frozenset({"tenant_admin", "enterprise", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/risks/inspection-tasks":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/risks/enterprises/<int:enterprise_id>/checklist":
        frozenset({"tenant_admin", "enterprise", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/risks/enterprises/<int:enterprise_id>/register":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/risks/picture": frozenset({"tenant_admin", "supervisor", "viewer"}),
    "GET /api/v1/tenants/<tenant_code>/risks/city-export": frozenset({"tenant_admin", "supervisor", "viewer"}),
    # --- safety standardisation, accidents
    "GET /api/v1/tenants/<tenant_code>/standardisation/certifications":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/standardisation/certifications": frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/standardisation/certifications/<int:certification_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/standardisation/certifications/<int:certification_id>/transitions":
        frozenset({"tenant_admin", "supervisor", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/standardisation/certifications/<int:certification_id>/checks":
        frozenset({"tenant_admin", "supervisor", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/standardisation/classifications":
        frozenset({"tenant_admin", "supervisor", "viewer"}),
    "POST /api/v1/tenants/<tenant_code>/standardisation/classifications": frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/standardisation/worklist":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/standardisation/progress": frozenset({"tenant_admin", "supervisor", "viewer"}),
    "GET /api/v1/tenants/<tenant_code>/standardisation/targets": frozenset({"tenant_admin", "supervisor", "viewer"}),
    "PUT /api/v1/tenants/<tenant_code>/standardisation/targets": frozenset({"tenant_admin", "supervisor"}),
    "POST /api/v1/tenants/<tenant_code>/standardisation/certificate-imports": frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/standardisation/certificate-imports/profile":
        frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/accidents":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/accidents": frozenset({"tenant_admin", "supervisor"}),
    "GET /api/v1/tenants/<tenant_code>/accidents/<int:accident_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>/accidents/<int:accident_id>":
        frozenset({"tenant_admin", "supervisor", "enterprise"}),
    "DELETE /api/v1/tenants/<tenant_code>/accidents/<int:accident_id>":
        frozenset({"tenant_admin", "supervisor"}),
    # --- ledger duties: everybody reads those of the enterprises they see; the bureau raises
    # the hazards of missed ones
    "GET /api/v1/tenants/<tenant_code>/ledger-duties":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/ledger-duties/findings": frozenset({"tenant_admin", "supervisor"}),
    # --- rules (规章制度): everybody reads those of the enterprises they see; an enterprise
    # marks its own; the tenant admin loads the template list
    "GET /api/v1/tenants/<tenant_code>/rules/templates":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/rules/templates/imports": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/rules/enterprises/<int:enterprise_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PUT /api/v1/tenants/<tenant_code>/rules/enterprises/<int:enterprise_id>":
        frozenset({"tenant_admin", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/rules/summary":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    # --- access links for enterprises without accounts: the bureau and service organisations
    # issue them (for the enterprises they see); the holder's routes take a link, no token
    "GET /api/v1/tenants/<tenant_code>/access-links":
        frozenset({"tenant_admin", "supervisor", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/access-links":
        frozenset({"tenant_admin", "supervisor", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/access-links/<int:link_id>":
        frozenset({"tenant_admin", "supervisor", "service_org"}),
    "POST /api/v1/tenants/<tenant_code>/access-links/<int:link_id>/revoke":
        frozenset({"tenant_admin", "supervisor", "service_org"}),
    "GET /api/v1/tenants/<tenant_code>/access-link-policy":
        frozenset({"tenant_admin", "supervisor", "service_org"}),
    "PUT /api/v1/tenants/<tenant_code>/access-link-policy": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/link": frozenset({"link_holder"}),
    "GET /api/v1/tenants/<tenant_code>/link/hazards": frozenset({"link_holder"}),
    "GET /api/v1/tenants/<tenant_code>/link/hazards/<int:hazard_id>": frozenset({"link_holder"}),
    "POST /api/v1/tenants/<tenant_code>/link/hazards/<int:hazard_id>/rectified":
        frozenset({"link_holder"}),
    "POST /api/v1/tenants/<tenant_code>/link/evidence": frozenset({"link_holder"}),
    "GET /api/v1/tenants/<tenant_code>/link/inspection": frozenset({"link_holder"}),
    "POST /api/v1/tenants/<tenant_code>/link/inspection": frozenset({"link_holder"}),
    "PUT /api/v1/tenants/<tenant_code>/link/inspection/results": frozenset({"link_holder"}),
    "POST /api/v1/tenants/<tenant_code>/link/inspection/submit": frozenset({"link_holder"}),
    # --- file downloads
    "GET /api/v1/files/<token>": frozenset({"public"}),
    # --- tenants and areas
    "GET /api/v1/tenants": frozenset({"platform_admin"}),
    "POST /api/v1/tenants": frozenset({"platform_admin"}),
    "GET /api/v1/tenants/<tenant_code>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>": frozenset({"platform_admin"}),
    "GET /api/v1/tenants/<tenant_code>/areas":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "POST /api/v1/tenants/<tenant_code>/areas": frozenset({"tenant_admin"}),
    "DELETE /api/v1/tenants/<tenant_code>/areas/<int:area_id>": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/areas/<int:area_id>":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PATCH /api/v1/tenants/<tenant_code>/areas/<int:area_id>": frozenset({"tenant_admin"}),
    # --- notifications out: channels, rules, the delivery log (tenant admins); one's own
    # preferences (every member)
    "GET /api/v1/tenants/<tenant_code>/channel-kinds": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/channels": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/channels": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/channels/<int:channel_id>": frozenset({"tenant_admin"}),
    "PATCH /api/v1/tenants/<tenant_code>/channels/<int:channel_id>": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/channel-rules": frozenset({"tenant_admin"}),
    "PUT /api/v1/tenants/<tenant_code>/channel-rules": frozenset({"tenant_admin"}),
    "GET /api/v1/tenants/<tenant_code>/my-channel-preferences":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "PUT /api/v1/tenants/<tenant_code>/my-channel-preferences":
        frozenset({"tenant_admin", "supervisor", "viewer", "service_org", "enterprise"}),
    "GET /api/v1/tenants/<tenant_code>/channel-deliveries": frozenset({"tenant_admin"}),
    "POST /api/v1/tenants/<tenant_code>/channel-deliveries/<int:delivery_id>/retry":
        frozenset({"tenant_admin"}),
    # --- calendar
    "GET /api/v1/calendar": frozenset({"authenticated"}),
    "GET /api/v1/calendar/<int:year>": frozenset({"authenticated"}),
    "PUT /api/v1/calendar/<int:year>": frozenset({"platform_admin"}),
    "GET /api/v1/calendar/deadline": frozenset({"authenticated"}),
    # --- libraries
    "GET /static/<path:filename>": frozenset({"public"}),
    "GET /api/docs": frozenset({"public"}),
    "GET /api/openapi.json": frozenset({"public"}),
}
