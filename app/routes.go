package app

// register lists the whole API. Each line is a method, a path, who may
// call it, the handler, and its documentation; the OpenAPI document at
// /openapi.json is generated from this table, so the two cannot drift.
func (s *server) register(r *router) {
	// health
	r.add("GET", "/healthz", public, healthz(), op{Tag: "health", Summary: "Liveness: the process answers", Resp: statusResponse{}})
	r.add("GET", "/readyz", public, s.readyz(), op{Tag: "health", Summary: "Readiness: every store answers", Resp: statusResponse{}})

	// staff sign-in and staff management
	r.add("POST", "/v1/staff/login", public, s.staffLogin(), op{Tag: "auth", Summary: "Staff sign-in with email and password",
		Req: staffLoginRequest{}, Resp: tokenResponse{}})
	r.add("GET", "/v1/clinic", staffOnly, s.getClinic(), op{Tag: "clinic", Summary: "The caller's clinic and the caller", Resp: clinicResponse{}})
	r.add("GET", "/v1/clinic/staff", managerOnly, s.listStaff(), op{Tag: "clinic", Summary: "The clinic's staff", Resp: staffListResponse{}})
	r.add("POST", "/v1/clinic/staff", managerOnly, s.addStaff(), op{Tag: "clinic", Summary: "Add a staff member to the caller's clinic",
		Req: addStaffRequest{}, Resp: staffView{}, Status: 201})

	// patient sign-in and sessions
	r.add("POST", "/v1/auth/otp", public, s.requestCode(), op{Tag: "auth", Summary: "Send a sign-in code by SMS",
		Req: otpRequest{}, Resp: otpResponse{}, Status: 202})
	r.add("POST", "/v1/auth/verify", public, s.verifyCode(), op{Tag: "auth", Summary: "Sign in with phone and code (creates the patient on first sign-in)",
		Req: verifyRequest{}, Resp: tokenResponse{}})
	r.add("POST", "/v1/auth/refresh", public, s.refresh(), op{Tag: "auth", Summary: "Rotate a refresh token; reusing a rotated one revokes the session",
		Req: refreshRequest{}, Resp: tokenResponse{}})
	r.add("POST", "/v1/auth/logout", anyUser, s.logout(), op{Tag: "auth", Summary: "Revoke the caller's session", Status: 204})

	// the patient's profile
	r.add("GET", "/v1/me", patientOnly, s.getMe(), op{Tag: "me", Summary: "The caller's profile", Resp: meResponse{}})
	r.add("PATCH", "/v1/me", patientOnly, s.patchMe(), op{Tag: "me", Summary: "Update names and birth date", Req: patchMeRequest{}, Resp: meResponse{}})
}
