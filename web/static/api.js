// The JSON API as every view reads it: one Accept header, and one rule for a 401 (the session
// ended or its token was revoked): the page goes to sign in again.

export class HttpError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

/** The JSON body of a GET; throws `HttpError` for a status other than 2xx (after sending the
 * page to /signin for a 401), and a TypeError when the server cannot be reached. */
export async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (response.status === 401) window.location.assign("/signin");
  if (!response.ok) throw new HttpError(response.status);
  return response.json();
}
