// login.js — the login form of index.html and the role router.
// An open session goes straight to its role's page; otherwise the token
// typed in the form is exchanged for a session (POST /session), the field
// is emptied, and the browser goes to the role's page.

import {login, getSession, pageFor, errorText, ApiError} from './api.js';
import {setStatus} from './dom.js';

const form = document.getElementById('login-form');
const input = document.getElementById('token');
const submit = form.querySelector('button[type="submit"]');

async function onSubmit(ev) {
	ev.preventDefault();
	const token = input.value.trim();
	if (!token) {
		input.setAttribute('aria-invalid', 'true');
		setStatus('Enter your access token.', 'error');
		input.focus();
		return;
	}
	submit.disabled = true;
	setStatus('Logging in…', 'info');
	try {
		const s = await login(token);
		input.value = '';
		setStatus('Logged in. Opening your page…', 'ok');
		location.assign(pageFor(s.role));
	} catch (e) {
		input.setAttribute('aria-invalid', 'true');
		if (e instanceof ApiError && e.status === 401)
			setStatus('That token was not accepted. Check it and try again.', 'error');
		else if (e instanceof ApiError && e.status === 403)
			setStatus('This token cannot be used in the browser (app and provider keys are for programs).', 'error');
		else
			setStatus(errorText(e), 'error');
		input.focus();
	} finally {
		submit.disabled = false;
	}
}

form.addEventListener('submit', onSubmit);
input.addEventListener('input', () => input.removeAttribute('aria-invalid'));

getSession().then((s) => {
	if (s)
		location.assign(pageFor(s.role));
}).catch(() => {
	// No server answer yet: the form stays usable.
});
