// api.js — the browser session and the fetch wrapper shared by every page.
//
// Security rules this module keeps (issue 12):
// - the login token is sent once, in the body of POST /session, and never
//   stored: not in localStorage, sessionStorage, a cookie set by script or a
//   URL. The session itself is the server's HttpOnly cookie; script never
//   sees it.
// - every request is same-origin with credentials "same-origin"; every
//   method other than GET/HEAD carries X-CSRF-Token (the session's csrf,
//   learned from POST or GET /session and kept in this module's memory only).
// - a 401 from any API call ends the page: back to the login page at "/".
//
// Exports (stable; other pages build on them):
//   class ApiError extends Error { status, code, message, body }
//   login(token) -> session            POST /session; throws ApiError (401 for a bad token)
//   getSession() -> session | null     GET /session; null when not logged in
//   logout() -> void                   DELETE /session, then to "/"
//   requireSession(roles) -> session   GET /session; not logged in -> "/",
//                                      role not in roles -> its own page
//   pageFor(role) -> "/learner.html" | "/analyst.html" | "/auditor.html" | "/admin.html"
//   request(path, {method, body, headers, raw, redirectOn401, csrf}) -> JSON | null (204) | Response (raw)
//       csrf: false leaves the X-CSRF-Token header out (only login does)
//       body: a plain object/array is sent as JSON; a string or Blob is sent as is
//   get(path) / post(path, body) / put(path, body) / del(path)  shorthands of request
//   download(path, {method, body}) -> {blob, filename}   for attachment answers
//   errorText(err) -> a message for a person (the API's "message" when there is one)
//   initPage({roles, title?}) -> session
//       requireSession, then fills <header> [data-session] with who is logged in
//       and a "Log out" button (data-testid="logout")
// A "session" is the JSON of POST/GET /session: {role, learner?, purposes?,
// csrf, idle_expires, expires}.

import {el, replace, setStatus} from './dom.js';

export class ApiError extends Error {
	constructor(status, code, message, body) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.body = body;
	}
}

let csrf = null; // the session's CSRF token: memory only, gone with the page

const PAGES = {
	learner: '/learner.html',
	guardian: '/learner.html',
	analyst: '/analyst.html',
	auditor: '/auditor.html',
	admin: '/admin.html',
};

export function pageFor(role) {
	return PAGES[role] || '/';
}

function toLogin() {
	csrf = null;
	if (location.pathname !== '/' && location.pathname !== '/index.html')
		location.assign('/');
}

async function errorFrom(res) {
	let body = null;
	let code = 'http_' + res.status;
	let message = res.status + ' ' + (res.statusText || 'error');
	const type = res.headers.get('Content-Type') || '';
	if (type.includes('application/json')) {
		try {
			body = await res.json();
			if (body && typeof body.error === 'string')
				code = body.error;
			if (body && typeof body.message === 'string' && body.message)
				message = body.message;
		} catch (e) {
			// an unreadable body keeps the status line as the message
		}
	}
	return new ApiError(res.status, code, message, body);
}

async function ensureCsrf() {
	if (csrf)
		return csrf;
	const s = await getSession();
	if (!s)
		throw new ApiError(401, 'unauthorized', 'Your session has ended. Please log in again.', null);
	return csrf;
}

export async function request(path, opts = {}) {
	const method = (opts.method || 'GET').toUpperCase();
	const headers = Object.assign({Accept: 'application/json'}, opts.headers || {});
	let body = opts.body;
	if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Blob)) {
		body = JSON.stringify(body);
		headers['Content-Type'] = 'application/json';
	} else if (typeof body === 'string' && !headers['Content-Type']) {
		headers['Content-Type'] = 'application/json';
	}
	if (method !== 'GET' && method !== 'HEAD' && opts.csrf !== false)
		headers['X-CSRF-Token'] = await ensureCsrf();
	const res = await fetch(path, {method, headers, body, credentials: 'same-origin', cache: 'no-store',
		redirect: 'error', referrerPolicy: 'no-referrer'});
	if (!res.ok) {
		const err = await errorFrom(res);
		if (res.status === 401 && opts.redirectOn401 !== false)
			toLogin();
		throw err;
	}
	if (opts.raw)
		return res;
	if (res.status === 204 || res.headers.get('Content-Length') === '0')
		return null;
	const type = res.headers.get('Content-Type') || '';
	return type.includes('json') ? res.json() : res.text();
}

export const get = (path) => request(path);
export const post = (path, body) => request(path, {method: 'POST', body});
export const put = (path, body) => request(path, {method: 'PUT', body});
export const del = (path) => request(path, {method: 'DELETE'});

export async function download(path, opts = {}) {
	const res = await request(path, Object.assign({}, opts, {raw: true}));
	const cd = res.headers.get('Content-Disposition') || '';
	const m = /filename="([^"\\/]{1,100})"/.exec(cd);
	return {blob: await res.blob(), filename: m ? m[1] : 'download'};
}

export async function login(token) {
	// No session is needed to log in; if an old one is still open its CSRF
	// token goes along, in case the server checks the cookie first.
	let old = null;
	try {
		old = await getSession();
	} catch (e) {
		old = null;
	}
	const headers = old && csrf ? {'X-CSRF-Token': csrf} : {};
	const s = await request('/session', {method: 'POST', body: {token}, redirectOn401: false, csrf: false, headers});
	csrf = s && s.csrf ? s.csrf : null;
	return s;
}

export async function getSession() {
	try {
		const s = await request('/session', {redirectOn401: false});
		csrf = s && s.csrf ? s.csrf : null;
		return s;
	} catch (e) {
		if (e instanceof ApiError && e.status === 401) {
			csrf = null;
			return null;
		}
		throw e;
	}
}

export async function logout() {
	try {
		if (csrf || (await getSession()))
			await request('/session', {method: 'DELETE', redirectOn401: false});
	} catch (e) {
		// the session may already be gone; either way the page leaves
	}
	csrf = null;
	location.assign('/');
}

export async function requireSession(roles) {
	const s = await getSession();
	if (!s) {
		toLogin();
		throw new ApiError(401, 'unauthorized', 'not logged in', null);
	}
	if (roles && !roles.includes(s.role)) {
		location.assign(pageFor(s.role));
		throw new ApiError(403, 'forbidden', 'this page is not for role ' + s.role, null);
	}
	return s;
}

export function errorText(err) {
	if (err instanceof ApiError) {
		if (err.status === 401)
			return 'Your session has ended. Please log in again.';
		if (err.code === 'csrf')
			return 'The request was refused as a possible cross-site request. Reload the page and try again.';
		return err.message;
	}
	if (err && err.name === 'TypeError')
		return 'The server could not be reached. Check your connection and try again.';
	return err && err.message ? err.message : String(err);
}

const ROLE_NAMES = {
	learner: 'Student',
	guardian: 'Parent or guardian',
	analyst: 'School analyst',
	auditor: 'Auditor',
	admin: 'Administrator',
};

export async function initPage({roles} = {}) {
	let s;
	try {
		s = await requireSession(roles);
	} catch (e) {
		if (!(e instanceof ApiError))
			setStatus(errorText(e), 'error');
		throw e;
	}
	const slot = document.querySelector('[data-session]');
	if (slot) {
		replace(slot,
			el('span', {class: 'who', 'data-testid': 'session-role'}, 'Logged in as: ' + (ROLE_NAMES[s.role] || s.role)),
			el('button', {type: 'button', class: 'btn btn-quiet', 'data-testid': 'logout', on: {click: logout}},
				'Log out'));
	}
	return s;
}
