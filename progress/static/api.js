// The JSON API as the shared modules read it: one Accept header, and any status but 2xx as an
// HttpError, so each view decides what a 401 means to it (the dashboard: sign in again; an
// element in a host's page: say so and stop).

export class HttpError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

/** The JSON body of a GET; throws `HttpError` for a status other than 2xx, and a TypeError
 * when the server cannot be reached. */
export async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new HttpError(response.status);
  return response.json();
}
