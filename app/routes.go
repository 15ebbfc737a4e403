package app

import (
	"carewallet/news"
	"carewallet/news/care"
	"carewallet/referrals"
	"carewallet/wallet"
)

// register lists the whole API. Each line is a method, a path, who may
// call it, the handler, and its documentation; the OpenAPI document at
// /openapi.json is generated from this table, so the two cannot drift.
func (s *server) register(r *router) {
	// health
	r.add("GET", "/healthz", public, healthz(), op{Tag: "health", Summary: "Liveness: the process answers", Resp: statusResponse{}})
	r.add("GET", "/readyz", public, s.readyz(), op{Tag: "health", Summary: "Readiness: every store answers", Resp: statusResponse{}})
	r.add("GET", "/openapi.json", public, s.serveOpenAPI, op{Tag: "meta", Summary: "This OpenAPI 3 document",
		Description: "Generated from the route table; the HTTP tests validate every request and response against it.",
		Resp:        map[string]any{}})

	// staff sign-in and staff management
	r.add("POST", "/v1/staff/login", public, s.staffLogin(), op{Tag: "auth", Summary: "Staff sign-in with email and password",
		Req: staffLoginRequest{}, Resp: tokenResponse{}, RespHeaders: refreshCookieHeader,
		Description: "With refresh_cookie: true (the web console) the refresh token is set as an HttpOnly cookie for POST /v1/auth/refresh and left out of the body."})
	r.add("GET", "/v1/clinic", staffOnly, s.getClinic(), op{Tag: "clinic", Summary: "The caller's clinic and the caller", Resp: clinicResponse{}})
	r.add("GET", "/v1/clinic/staff", managerOnly, s.listStaff(), op{Tag: "clinic", Summary: "The clinic's staff", Resp: staffListResponse{}})
	r.add("POST", "/v1/clinic/staff", managerOnly, s.addStaff(), op{Tag: "clinic", Summary: "Add a staff member to the caller's clinic",
		Req: addStaffRequest{}, Resp: staffView{}, Status: 201})
	r.add("PATCH", "/v1/clinic/staff/{id}", managerOnly, s.setStaffRole(), op{Tag: "clinic", Summary: "Change a staff member's role; it applies to their next request",
		Req: staffRoleRequest{}, Resp: staffView{}})
	r.add("GET", "/v1/clinic/profile", staffOnly, s.getClinicProfile(), op{Tag: "clinic", Summary: "The clinic's public profile", Resp: clinicProfile{}})
	r.add("PUT", "/v1/clinic/profile", managerOnly, s.putClinicProfile(), op{Tag: "clinic", Summary: "Set the clinic's public profile (renames the clinic); logo is a base64 PNG or JPEG up to 512 KiB, left out: kept",
		Req: profileRequest{}, Resp: clinicProfile{}})
	r.add("GET", "/v1/clinic/join-code", staffOnly, s.getJoinCode(), op{Tag: "clinic", Summary: "The clinic's join code (stable), its link {public URL}/j/{code} and the QR's address", Resp: joinCodeResponse{}})
	r.add("GET", "/v1/clinic/join-qr.png", staffOnly, s.joinQR(), op{Tag: "clinic", Summary: "The join link as a QR image for the desk", Produces: "image/png"})
	r.add("DELETE", "/v1/clinic/staff/{id}", managerOnly, s.disableStaff(), op{Tag: "clinic", Summary: "Disable a staff member: their sessions end at once and they cannot sign in", Status: 204})

	// patient sign-in and sessions
	r.add("POST", "/v1/auth/otp", public, s.requestCode(), op{Tag: "auth", Summary: "Send a sign-in code by SMS",
		Req: otpRequest{}, Resp: otpResponse{}, Status: 202})
	r.add("POST", "/v1/auth/verify", public, s.verifyCode(), op{Tag: "auth", Summary: "Sign in with phone and code (creates the patient on first sign-in)",
		Req: verifyRequest{}, Resp: tokenResponse{}})
	r.add("POST", "/v1/auth/refresh", public, s.refresh(), op{Tag: "auth", Summary: "Rotate a refresh token; reusing a rotated one revokes the session",
		Description: "Send refresh_token, or refresh_cookie: true to use (and rotate) the console's HttpOnly cookie instead; exactly one of the two.",
		Req:         refreshRequest{}, Resp: tokenResponse{}, RespHeaders: refreshCookieHeader})
	r.add("POST", "/v1/auth/logout", anyUser, s.logout(), op{Tag: "auth", Summary: "Revoke the caller's session (and expire the console's refresh cookie)", Status: 204})

	// the patient's profile
	r.add("GET", "/v1/me", patientOnly, s.getMe(), op{Tag: "me", Summary: "The caller's profile", Resp: meResponse{}})
	r.add("PATCH", "/v1/me", patientOnly, s.patchMe(), op{Tag: "me", Summary: "Update names and birth date", Req: patchMeRequest{}, Resp: meResponse{}})

	// the patient's rights: export, deletion, consents, handover
	r.add("GET", "/v1/me/export", patientOnly, s.myExport(), op{Tag: "rights", Summary: "Everything held about the caller as one JSON document, streamed: profile, cards (own and dependants') with every ledger entry, consents, handovers, inbox events, devices, sessions, chats, votes, referral facts",
		Resp: exportDocument{}})
	r.add("DELETE", "/v1/me", patientOnly, s.deleteMe(), op{Tag: "rights", Summary: "Delete the caller at once and for good, with a fresh sign-in code (POST /v1/auth/otp): name, birth date, phone, devices, sessions, chat texts and votes' link go; each card's balance is forfeited and the card shows a deleted patient; confirmed by SMS; 409 sole_guardian while a dependant's card has no other guardian",
		Req: deleteMeRequest{}, Status: 204})
	r.add("GET", "/v1/cards/{id}/consents", patientOnly, s.cardConsents(), op{Tag: "rights", Summary: "The guardians' consents to the clinic processing the dependant's data (who, when, which clinic, the text's version)",
		Resp: consentsResponse{}})
	r.add("POST", "/v1/cards/{id}/handover", patientOnly, s.startHandover(), op{Tag: "rights", Summary: "Offer a dependant's card to the dependant's own phone, from the clinic's age of majority (409 too_young before it); the dependant signs in with that phone and accepts",
		Req: handoverRequest{}, Resp: wallet.Handover{}, Status: 201})
	r.add("GET", "/v1/me/handovers", patientOnly, s.myHandovers(), op{Tag: "rights", Summary: "Cards offered to the caller and the handovers the caller started", Resp: handoversResponse{}})
	r.add("POST", "/v1/me/handovers/{id}/accept", patientOnly, s.acceptHandover(), op{Tag: "rights", Summary: "Take the card over: it becomes the caller's own with its balance, lots and history; the guardians lose it at once and are told; consents close (409 handed_over when another offer won)",
		Resp: wallet.Handover{}})
	r.add("GET", "/v1/clinic/patients/{id}/export", managerOnly, s.patientExport(), op{Tag: "rights", Summary: "A patient's data as it concerns this clinic, streamed (a written request at the desk); every export is recorded",
		Resp: exportDocument{}})
	r.add("GET", "/v1/clinic/exports", managerOnly, s.listExports(), op{Tag: "rights", Summary: "The record of this clinic's patient data exports (who, when), newest first",
		Resp: exportsResponse{}, Query: pageQuery})
	r.add("GET", "/v1/clinic/cards/{id}/consents", staffOnly, s.staffCardConsents(), op{Tag: "rights", Summary: "The guardians' consents recorded for a dependant's card of this clinic",
		Resp: consentsResponse{}})

	// push
	r.add("PUT", "/v1/me/devices", anyUser, s.putDevice(), op{Tag: "push", Summary: "Register this app's FCM token (idempotent; the token moves to the latest account that registers it)",
		Req: deviceRequest{}, Status: 204})
	r.add("DELETE", "/v1/me/devices/{token}", anyUser, s.deleteDevice(), op{Tag: "push", Summary: "Unregister one of the caller's FCM tokens (URL-escaped)", Status: 204})
	r.add("GET", "/v1/me/events", anyUser, s.listEvents(), op{Tag: "push", Summary: "The caller's event inbox after a seq, oldest first",
		Resp: eventsResponse{}, Query: eventsQuery})
	r.add("POST", "/v1/ws/ticket", anyUser, s.wsTicket(), op{Tag: "push", Summary: "A single-use ticket (30 s) for GET /v1/ws?ticket= when headers cannot be set",
		Resp: ticketResponse{}})
	r.add("GET", "/v1/ws", ownAuth, s.wsUpgrade(), op{Tag: "push", Summary: "Websocket of live inbox events; authenticate with Authorization: Bearer or ?ticket=; send {\"type\":\"resume\",\"after\":SEQ} to replay",
		Status: 101, RespDescription: "Switching Protocols: the connection is a websocket. The server sends inbox events as JSON text " +
			"frames ({\"seq\",\"type\",\"data\",\"created_at\"}); a plain request without the upgrade is a 426.",
		Query: []param{{Name: "ticket", Description: "ticket from POST /v1/ws/ticket (instead of the Authorization header)"},
			{Name: "after", Type: "integer", Description: "replay events after this seq, then live (default: live only)"}}})

	// the one message policy: the patient's switches, the clinic's settings
	r.add("GET", "/v1/me/preferences", patientOnly, s.getPreferences(), op{Tag: "push", Summary: "Marketing push switches per clinic where the caller holds a card and per dependant's card the caller guards (on unless switched off)",
		Description: "Marketing pushes are reminders, before/after-visit texts, ratings, news, birthday and win-back messages; switched off, they still reach the inbox. Codes, chat replies and burn warnings always push.",
		Resp:        preferencesResponse{}})
	r.add("PUT", "/v1/me/preferences", patientOnly, s.putPreferences(), op{Tag: "push", Summary: "Switch marketing pushes on or off per clinic and per dependant's card; entries not listed keep their setting; answers the whole set",
		Req: preferencesRequest{}, Resp: preferencesResponse{}})
	r.add("GET", "/v1/clinic/message-policy", managerOnly, s.getMessagePolicy(), op{Tag: "clinic", Summary: "The clinic's message policy: quiet hours (clinic time) and the weekly message budget per patient",
		Resp: messagePolicy{}})
	r.add("PUT", "/v1/clinic/message-policy", managerOnly, s.putMessagePolicy(), op{Tag: "clinic", Summary: "Set the quiet hours (HH:MM clinic time; equal times: none) and the weekly budget per patient (0..50)",
		Req: messagePolicy{}, Resp: messagePolicy{}})
	r.add("GET", "/v1/clinic/message-policy/report", managerOnly, s.messagePolicyReport(), op{Tag: "clinic", Summary: "Messages the policy held back per class and reason (budget, opted_out, deferred) over clinic-local days",
		Resp: heldReport{}, Query: heldReportQuery})

	// wallet: the patient's cards
	r.add("POST", "/v1/me/cards", patientOnly, s.joinClinic(), op{Tag: "cards", Summary: "Join a clinic's program by clinic_id or join_code: the card exists at once, welcome bonus credited (a card reception registered unconfirmed is confirmed)",
		Req: joinRequest{}, Resp: cardWithClinic{}, Status: 201, Idempotent: true})
	r.add("GET", "/v1/me/cards", patientOnly, s.myCards(), op{Tag: "cards", Summary: "The caller's own cards and their dependants' cards, each with its clinic's name and logo; unconfirmed ones carry confirm_url", Resp: cardsResponse{}})
	r.add("POST", "/v1/me/cards/{id}/confirm", patientOnly, s.confirmMyCard(), op{Tag: "cards", Summary: "Confirm a card reception registered unconfirmed for the caller's phone: its points become spendable (409 nothing_to_confirm for a pending card; a confirmed one answers as it is)",
		Resp: cardWithClinic{}})
	r.add("GET", "/v1/cards/{id}", patientOnly, s.card(), op{Tag: "cards", Summary: "Balance, level, burn calendar (the next burn dates), next burn, the clinic's name and logo", Resp: cardWithClinic{}})
	r.add("GET", "/v1/clinics/{id}", patientOnly, s.clinicInfo(), op{Tag: "cards", Summary: "A clinic as the app shows it: its profile and the program's rules in numbers and ready-to-show Russian and English sentences",
		Resp: clinicInfo{}})
	r.add("GET", "/v1/clinics/{id}/logo", public, s.clinicLogo(), op{Tag: "cards", Summary: "A clinic's logo (PNG or JPEG); the versioned URL from logo_url is cached for a year", Produces: "image/*",
		Query:       []param{{Name: "v", Description: "the logo version from logo_url"}},
		RespHeaders: []param{{Name: "ETag", Description: "the logo version"}, {Name: "Cache-Control", Description: "a year for the current version, 5 minutes otherwise"}}})
	r.add("GET", "/j/{code}", public, s.joinPageHandler(), op{Tag: "cards", Summary: "The public page of a clinic's join code (HTML, no script)", Produces: "text/html"})
	r.add("GET", "/v1/cards/{id}/lots", patientOnly, s.cardLots(), op{Tag: "cards", Summary: "The card's open lots, soonest-burning first",
		Resp: wallet.LotsPage{}, Query: pageQuery})
	r.add("GET", "/v1/cards/{id}/history", patientOnly, s.cardHistory(), op{Tag: "cards", Summary: "The card's ledger entries, newest first, each explaining itself",
		Resp: wallet.HistoryPage{}, Query: pageQuery})
	r.add("GET", "/v1/cards/{id}/code", patientOnly, s.cardCode(), op{Tag: "cards", Summary: "A short rotating code to show at reception", Resp: wallet.CardCode{}})
	r.add("GET", "/v1/cards/{id}/qr.png", patientOnly, s.cardQR(), op{Tag: "cards", Summary: "A fresh card code as a QR image", Produces: "image/png",
		RespHeaders: []param{{Name: "X-Code-Expires-At", Description: "when the code expires (RFC 3339)"}}})

	// wallet: reception
	r.add("POST", "/v1/clinic/cards", staffOnly, s.issueCard(), op{Tag: "reception", Summary: "Issue a pending card (own: phone; dependant: guardian_phone); the code goes to the patient's app. With unconfirmed and phone: register the card of a patient without the app (earns at once; spendable once confirmed in the app)",
		Req: issueCardRequest{}, Resp: wallet.IssueCardResult{}, Status: 201})
	r.add("POST", "/v1/clinic/cards/{id}/confirm", staffOnly, s.confirmCard(), op{Tag: "reception", Summary: "Activate a pending card with the code from the patient's app",
		Req: codeRequest{}, Resp: wallet.IssueCardResult{}, Idempotent: true})
	r.add("GET", "/v1/clinic/cards/lookup", staffOnly, s.lookupCard(), op{Tag: "reception", Summary: "Find a card by its QR code (?code=) or a patient's cards by phone (?phone=)",
		Resp: lookupResponse{}, Query: []param{{Name: "code", Description: "code from the patient's QR"}, {Name: "phone", Description: "patient's phone"}}})
	r.add("GET", "/v1/clinic/cards/{id}", staffOnly, s.staffCard(), op{Tag: "reception", Summary: "A card of this clinic", Resp: wallet.CardView{}})
	r.add("GET", "/v1/clinic/cards/{id}/history", staffOnly, s.staffCardHistory(), op{Tag: "reception", Summary: "A card's ledger entries",
		Resp: wallet.HistoryPage{}, Query: pageQuery})
	r.add("GET", "/v1/clinic/cards/{id}/lots", staffOnly, s.staffCardLots(), op{Tag: "reception", Summary: "A card's open lots, soonest-burning first",
		Resp: wallet.LotsPage{}, Query: pageQuery})
	r.add("POST", "/v1/clinic/cards/{id}/guardians", staffOnly, s.addGuardian(), op{Tag: "reception", Summary: "Let another guardian see this clinic's cards of a dependant; the guardians who already do are told in their app",
		Req: guardianRequest{}, Status: 204})
	r.add("GET", "/v1/clinic/cards/{id}/guardians", staffOnly, s.listGuardians(), op{Tag: "reception", Summary: "Who holds this clinic's cards of a dependant, oldest first",
		Resp: guardiansResponse{}})
	r.add("DELETE", "/v1/clinic/cards/{id}/guardians/{patient_id}", staffOnly, s.removeGuardian(), op{Tag: "reception", Summary: "End a guardian's access to this clinic's cards of a dependant at once; the codes go to a remaining guardian; the only guardian cannot be removed (409 last_guardian)",
		Status: 204})
	r.add("POST", "/v1/clinic/receipts", staffOnly, s.recordReceipt(), op{Tag: "reception", Summary: "Record a paid receipt and credit its cashback (idempotent on receipt_id)",
		Req: wallet.ReceiptRequest{}, Resp: wallet.ReceiptResult{}, Idempotent: true})
	r.add("POST", "/v1/clinic/receipts/{receipt_id}/refund", staffOnly, s.refund(), op{Tag: "reception", Summary: "Refund lines (or the whole receipt): reverse cashback, return spent points",
		Req: refundRequest{}, BodyOptional: true, Resp: wallet.RefundResult{}, Idempotent: true})
	r.add("POST", "/v1/clinic/spends", staffOnly, s.createSpend(), op{Tag: "reception", Summary: "Start a bonus payment; the patient confirms with the code sent to the app",
		Req: wallet.SpendRequest{}, Resp: wallet.SpendResult{}, Status: 201, Idempotent: true})
	r.add("POST", "/v1/clinic/spends/quote", staffOnly, s.quoteSpend(), op{Tag: "reception", Summary: "How many points a bonus payment on these lines may take now (the program's max share, the card's available points); writes nothing",
		Req: spendQuoteRequest{}, Resp: wallet.SpendQuote{}})
	r.add("POST", "/v1/clinic/spends/{id}/confirm", staffOnly, s.confirmSpend(), op{Tag: "reception", Summary: "Post a bonus payment with the patient's code",
		Req: codeRequest{}, Resp: wallet.SpendResult{}, Idempotent: true})
	r.add("POST", "/v1/clinic/bookings", staffOnly, s.booking(), op{Tag: "reception", Summary: "Online-booking bonus, once per booking_id (from the clinic's booking system)",
		Req: bookingRequest{}, Resp: wallet.Entry{}, Idempotent: true})

	// wallet: managers
	r.add("GET", "/v1/clinic/program", managerOnly, s.getProgram(), op{Tag: "program", Summary: "The clinic's loyalty program", Resp: wallet.Program{}})
	r.add("PUT", "/v1/clinic/program", managerOnly, s.putProgram(), op{Tag: "program", Summary: "Replace the program (a new version, for operations from now on)",
		Req: programRequest{}, Resp: wallet.Program{}})
	r.add("POST", "/v1/clinic/adjustments", managerOnly, s.adjust(), op{Tag: "program", Summary: "Manual adjustment with a reason",
		Req: wallet.AdjustRequest{}, Resp: wallet.Entry{}, Idempotent: true})
	r.add("GET", "/v1/clinic/reports/journal", managerOnly, s.journal(), op{Tag: "reports", Summary: "Ledger entries of the clinic (JSON or ?format=csv)",
		Resp: wallet.JournalPage{}, CSV: true, RespHeaders: csvNext, Query: journalQuery})
	r.add("GET", "/v1/clinic/reports/cards-by-staff", managerOnly, s.cardsByStaff(), op{Tag: "reports", Summary: "Cards issued by each staff member",
		Resp: staffCardsResponse{}, CSV: true, Query: rangeQuery})
	r.add("GET", "/v1/clinic/reports/cards", managerOnly, s.cardsIssued(), op{Tag: "reports", Summary: "Cards issued",
		Resp: wallet.CardsPage{}, CSV: true, RespHeaders: csvNext, Query: append(rangeQuery, pageQuery...)})
	r.add("GET", "/v1/clinic/reports/totals", managerOnly, s.totals(), op{Tag: "reports", Summary: "Points issued, spent, burned and outstanding",
		Resp: wallet.Totals{}, CSV: true, Query: rangeQuery})

	// referrals: patients
	r.add("GET", "/v1/cards/{id}/referral", patientOnly, s.cardReferral(), op{Tag: "referrals", Summary: "The own card's personal referral code, link, QR address and figures per level",
		Resp: referralResponse{}})
	r.add("GET", "/v1/cards/{id}/referral/qr.png", patientOnly, s.cardReferralQR(), op{Tag: "referrals", Summary: "The referral link as a QR image", Produces: "image/png"})
	r.add("GET", "/v1/cards/{id}/referrals", patientOnly, s.cardFriends(), op{Tag: "referrals", Summary: "The people this card brought, at every depth, oldest first (masked names only)",
		Resp: referrals.FriendsPage{}, Query: pageQuery})
	r.add("POST", "/v1/me/referral", patientOnly, s.joinWithCode(), op{Tag: "referrals", Summary: "Join the code's clinic under its owner: card, welcome and referee bonus (at most 10 wrong codes an hour)",
		Req: referralCodeRequest{}, Resp: referrals.JoinResult{}, Status: 201, Idempotent: true})
	r.add("GET", "/r/{code}", public, s.referralPageHandler(), op{Tag: "referrals", Summary: "The public page of a referral code (HTML, no script)", Produces: "text/html"})

	// referrals: managers
	r.add("GET", "/v1/clinic/referral-program", managerOnly, s.getReferralProgram(), op{Tag: "referrals", Summary: "The clinic's referral program", Resp: referrals.Program{}})
	r.add("PUT", "/v1/clinic/referral-program", managerOnly, s.putReferralProgram(), op{Tag: "referrals", Summary: "Replace the referral program (a new version, for receipts from now on)",
		Req: referrals.ProgramRequest{}, Resp: referrals.Program{}})
	r.add("POST", "/v1/clinic/referrals/{id}/approve", managerOnly, s.decideReferral(true), op{Tag: "referrals", Summary: "Approve a held referral with a reason: its held bonus and rewards are paid",
		Req: decisionRequest{}, Resp: referrals.Decision{}})
	r.add("GET", "/v1/clinic/reports/referrals", managerOnly, s.referralReport(), op{Tag: "referrals", Summary: "Every cardholder per depth of the tree (1: came by themselves) with who paid, rewards per level, top referrers; held referrals paged by ?after=&limit= (JSON); ?format=csv has every row",
		Resp: referrals.Report{}, CSV: true, Query: append([]param{{Name: "format", Description: "json (default) or csv (every row, no paging)", Enum: []string{"json", "csv"}}}, pageQuery...)})
	r.add("GET", "/v1/clinic/reports/staff-rewards", managerOnly, s.staffRewardsReport(), op{Tag: "referrals", Summary: "Enrolments, enrolment rewards and payouts per staff member, paged by ?after=&limit= (JSON); ?format=csv has every row",
		Resp: staffRewardsReport{}, CSV: true, Query: append(append([]param{}, rangeQuery...), pageQuery...)})
	r.add("GET", "/v1/clinic/staff/{id}/rewards", staffOnly, s.staffRewards(), op{Tag: "referrals", Summary: "A staff member's enrolment rewards account, code and link (the staff member or a manager)",
		Resp: staffRewardsResponse{}})
	r.add("POST", "/v1/clinic/staff/{id}/payouts", managerOnly, s.staffPayout(), op{Tag: "referrals", Summary: "Record a cash payout of a staff member's reward points (never over the balance)",
		Req: referrals.PayoutRequest{}, Resp: referrals.Payout{}, Status: 201, Idempotent: true})
	r.add("POST", "/v1/clinic/referrals/{id}/reject", managerOnly, s.decideReferral(false), op{Tag: "referrals", Summary: "Reject a held referral with a reason: its rewards are never paid",
		Req: decisionRequest{}, Resp: referrals.Decision{}})

	// news and polls: managers compose, patients read and vote
	r.add("POST", "/v1/clinic/news", managerOnly, s.createPost(), op{Tag: "news", Summary: "Publish or schedule a post (at most one per clinic per calendar week in its time zone; 409 weekly_limit with next_allowed_at); image is a base64 JPEG or PNG up to 2 MiB and 4096x4096; audience is all (default), level:NAME (a loyalty level) or depth:N (N 1-8: the patients at that depth of the referral tree, 1 = came by themselves)",
		Req: news.Draft{}, Resp: news.ManagerView{}, Status: 201})
	r.add("GET", "/v1/clinic/news", managerOnly, s.clinicPosts(), op{Tag: "news", Summary: "The clinic's posts, newest first, with recipients, pushes sent and failed, and reads",
		Resp: news.ManagerPage{}, Query: newsPageQuery})
	r.add("GET", "/v1/clinic/news/week", managerOnly, s.newsWeek(), op{Tag: "news", Summary: "Whether this calendar week's post is still free, and from when the next post is possible (the next_allowed_at a refused post would get)",
		Resp: newsWeekResponse{}})
	r.add("GET", "/v1/clinic/news/{id}", managerOnly, s.clinicPost(), op{Tag: "news", Summary: "One of the clinic's posts with its delivery counts", Resp: news.ManagerView{}})
	r.add("PATCH", "/v1/clinic/news/{id}", managerOnly, s.editPost(), op{Tag: "news", Summary: "Change a post: a scheduled one entirely, a published one only its title, body and image (no second push)",
		Req: news.Edit{}, Resp: news.ManagerView{}})
	r.add("DELETE", "/v1/clinic/news/{id}", managerOnly, s.withdrawPost(), op{Tag: "news", Summary: "Cancel a scheduled post (its week is free again) or withdraw a published one (it leaves the feeds)", Status: 204})
	r.add("GET", "/v1/clinic/news/{id}/results", managerOnly, s.pollResults(), op{Tag: "news", Summary: "A poll's counts and shares (JSON or ?format=csv)",
		Resp: news.Results{}, Query: []param{{Name: "format", Description: "json (default) or csv"}}})
	r.add("GET", "/v1/news", patientOnly, s.feed(), op{Tag: "news", Summary: "Posts of every clinic where the caller holds a card, newest first, each with read",
		Resp: news.FeedPage{}, Query: newsPageQuery})
	r.add("GET", "/v1/news/{id}", patientOnly, s.newsPost(), op{Tag: "news", Summary: "One post (withdrawn ones too, marked so), with the caller's vote and, after voting, the results", Resp: news.PostView{}})
	r.add("POST", "/v1/news/{id}/read", patientOnly, s.readPost(), op{Tag: "news", Summary: "Mark a post read (idempotent)", Status: 204})
	r.add("POST", "/v1/news/{id}/vote", patientOnly, s.vote(), op{Tag: "news", Summary: "Vote once in the post's poll (option is 1-based); 409 already_voted or poll_closed; answers the results",
		Req: voteRequest{}, Resp: news.Results{}})
	r.add("GET", "/v1/news/{id}/results", patientOnly, s.myResults(), op{Tag: "news", Summary: "A poll's results, after the caller voted", Resp: news.Results{}})
	r.add("GET", "/v1/news/{id}/image", anyUser, s.postImage(), op{Tag: "news", Summary: "A post's image (JPEG or PNG) for its readers and its clinic's staff", Produces: "image/*"})

	// chat: a patient writes first; only managers read and answer
	r.add("POST", "/v1/chats", patientOnly, s.startChat(), op{Tag: "chat", Summary: "Write to a clinic where the caller holds a card: opens the one thread of (clinic, patient) or adds to it",
		Req: chatStartRequest{}, Resp: chatStartResponse{}, Status: 201})
	r.add("GET", "/v1/chats", patientOnly, s.myChats(), op{Tag: "chat", Summary: "The caller's chat threads with unread counts", Resp: myChatsResponse{}})
	r.add("GET", "/v1/chats/{id}", patientOnly, s.myChat(), op{Tag: "chat", Summary: "A thread's messages after a seq, oldest first", Resp: patientConversation{}, Query: chatAfterQuery})
	r.add("POST", "/v1/chats/{id}/messages", patientOnly, s.patientMessage(), op{Tag: "chat", Summary: "Write in the caller's thread (at most 30 messages a minute: 429 with Retry-After); a closed thread opens again",
		Req: chatTextRequest{}, Resp: chatMessage{}, Status: 201})
	r.add("POST", "/v1/chats/{id}/read", patientOnly, s.patientChatRead(), op{Tag: "chat", Summary: "Mark the thread read up to a seq (0: everything so far)",
		Req: chatReadRequest{}, Status: 204})
	r.add("GET", "/v1/clinic/chats", managerOnly, s.clinicChats(), op{Tag: "chat", Summary: "The clinic's threads by last message, newest first, with the patient's name and unread count",
		Resp: clinicChatsResponse{}, Query: clinicChatsQuery})
	r.add("GET", "/v1/clinic/chats/{id}", managerOnly, s.clinicChat(), op{Tag: "chat", Summary: "A thread's messages with the patient's cards in this clinic and visits",
		Resp: managerConversation{}, Query: chatAfterQuery})
	r.add("POST", "/v1/clinic/chats/{id}/messages", managerOnly, s.managerMessage(), op{Tag: "chat", Summary: "Answer, signed with the manager's name; an optional bonus credits the patient's card once (Idempotency-Key)",
		Req: news.Reply{}, Resp: chatMessage{}, Status: 201, Idempotent: true})
	r.add("POST", "/v1/clinic/chats/{id}/read", managerOnly, s.managerChatRead(), op{Tag: "chat", Summary: "Mark the thread read for the clinic up to a seq (0: everything so far)",
		Req: chatReadRequest{}, Status: 204})
	r.add("POST", "/v1/clinic/chats/{id}/close", managerOnly, s.setChatStatus(news.ThreadClosed), op{Tag: "chat", Summary: "Close a thread (no answers until it is reopened or the patient writes again)", Resp: news.ThreadView{}})
	r.add("POST", "/v1/clinic/chats/{id}/reopen", managerOnly, s.setChatStatus(news.ThreadOpen), op{Tag: "chat", Summary: "Reopen a closed thread", Resp: news.ThreadView{}})

	// care: appointments from the clinic's system, scenarios, visit ratings
	r.add("PUT", "/v1/clinic/appointments/{external_id}", staffOnly, s.putAppointment(), op{Tag: "care", Summary: "Create or update an appointment from the clinic's scheduling system (idempotent); the patient by phone (created when unknown) or card_id; source online earns the booking bonus once",
		Req: care.AppointmentRequest{}, Resp: appointmentResponse{}})
	r.add("GET", "/v1/clinic/appointments/{external_id}", staffOnly, s.getAppointment(), op{Tag: "care", Summary: "One of the clinic's appointments by its external id", Resp: care.AppointmentView{}})
	r.add("PUT", "/v1/clinic/services/{code}", managerOnly, s.putService(), op{Tag: "care", Summary: "Set a service's name and its texts for before and after the visit (left out or empty: none)",
		Req: care.ServiceRequest{}, Resp: care.ServiceText{}})
	r.add("GET", "/v1/clinic/services", managerOnly, s.listServices(), op{Tag: "care", Summary: "The clinic's services with their texts, by code",
		Resp: care.ServicesPage{}, Query: []param{{Name: "after", Description: "the previous page's next"}, {Name: "limit", Type: "integer", Description: "1..500 (default 100)"}}})
	r.add("POST", "/v1/clinic/services.csv", managerOnly, s.importServices(), op{Tag: "care", Summary: "Import the price list as CSV (columns code, name, before_text, after_text; a header first): all lines or none, a bad line named in the error",
		Consumes: "text/csv", Resp: care.ImportResult{}})
	r.add("GET", "/v1/clinic/care", managerOnly, s.getCare(), op{Tag: "care", Summary: "Every care scenario: on or off, its text and default text, its window, and status working, problems or off with the reasons",
		Resp: scenariosResponse{}})
	r.add("PUT", "/v1/clinic/care/{scenario}", managerOnly, s.putScenario(), op{Tag: "care", Summary: "Switch a scenario on or off, set its text (placeholders {first_name} {clinic} {date} {time} {doctor}; empty restores the default) or the birthday's days_before",
		Req: care.ScenarioUpdate{}, Resp: care.ScenarioView{}})
	r.add("GET", "/v1/clinic/care/report", managerOnly, s.careReport(), op{Tag: "care", Summary: "Per scenario: messages sent, skipped per reason, dropped, and the effect (win_back: booked again within 30 days; rating: answered)",
		Resp: care.Report{}, Query: careRangeQuery})
	r.add("PUT", "/v1/clinic/review-sites", managerOnly, s.putReviewSites(), op{Tag: "care", Summary: "Replace the review sites shown to patients who rate a visit 4 or 5 (at most 10)",
		Req: []care.Site{}, Resp: reviewSitesResponse{}})
	r.add("GET", "/v1/clinic/review-sites", managerOnly, s.getReviewSites(), op{Tag: "care", Summary: "The clinic's review sites", Resp: reviewSitesResponse{}})
	r.add("POST", "/v1/visits/{id}/rating", patientOnly, s.rateVisit(), op{Tag: "care", Summary: "Rate a visit once (score 1..5, optional comment): 4-5 answer the review sites, 1-3 go to the clinic's managers in the caller's chat thread; the same answer again is a replay",
		Req: care.RatingRequest{}, Resp: care.RatingResult{}, Status: 201})
	r.add("GET", "/v1/clinic/ratings", managerOnly, s.clinicRatings(), op{Tag: "care", Summary: "Visit ratings with the visit, doctor, staff member and chat thread; average and distribution overall and per ISO week (JSON or ?format=csv)",
		Resp: care.RatingsReport{}, Query: ratingsQuery})
}
