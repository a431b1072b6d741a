// The pages' one rule for a 401 (the session ended or its token was revoked): the page goes to
// sign in again. Every GET of the dashboard and the job page goes through here.

import { getJson as getAnswer } from "../progress/static/api.js";

/** The JSON body of a GET, as `api.js`'s, but a 401 first sends the page to /signin. */
export async function getJson(path) {
  try {
    return await getAnswer(path);
  } catch (error) {
    if (error.status === 401) window.location.assign("/signin");
    throw error;
  }
}

/** For `LiveStream`'s `whenClosed`: reopen unless the session has ended (then the page is
 * already on its way to /signin). Offline or restarting, the stream keeps trying. */
export async function stillSignedIn() {
  try {
    await getJson("/api/session");
  } catch (error) {
    return error.status !== 401;
  }
  return true;
}
