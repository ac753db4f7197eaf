// The read API, with the reader token kept in this tab's session storage. Without a token
// the request goes out bare: a collector with openReadsOnLoopback answers loopback clients.

const KEY = 'dualstack.readerToken';

export const token = {
  get() {
    try {
      return sessionStorage.getItem(KEY);
    } catch {
      return null;
    }
  },
  set(value) {
    try {
      sessionStorage.setItem(KEY, value);
    } catch {
      /* storage disabled: the token lives only as long as this page */
    }
    memory = value;
  },
  clear() {
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      /* nothing kept */
    }
    memory = null;
  },
};
let memory = null;

/** An API answer other than 2xx: status, the RFC 9457 problem body when there is one. */
export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

/** GET a read API path; resolves with the JSON body, rejects with ApiError. */
export async function get(path, { signal } = {}) {
  const headers = { accept: 'application/json' };
  const t = token.get() ?? memory;
  if (t) headers.authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(path, { headers, signal, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new ApiError(0, null, `The collector did not answer (${error && error.message ? error.message : error}).`);
  }
  if (res.ok) return res.json();
  let problem = null;
  try {
    problem = await res.json();
  } catch {
    /* not JSON */
  }
  const detail = problem && typeof problem.detail === 'string' ? problem.detail : `${res.status} ${res.statusText}`;
  throw new ApiError(res.status, problem, detail);
}

/** Like get(), but a 404 resolves with null (an endpoint this collector does not have). */
export async function getOptional(path, options) {
  try {
    return await get(path, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Like get(), for one resource: { body }, or { missing: the problem's detail } on a 404 (no such host, endpoint). */
export async function getResource(path, options) {
  try {
    return { body: await get(path, options) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { missing: error.message };
    throw error;
  }
}

/** Every page of a paged endpoint (limit 1000), the first page alone when that is all. */
export async function getAllPages(path, { signal, maxPages = 20 } = {}) {
  const sep = path.includes('?') ? '&' : '?';
  const first = await get(`${path}${sep}limit=1000&offset=0`, { signal });
  const pages = Math.min(maxPages, Math.ceil(first.total / 1000));
  const rest = await Promise.all(Array.from({ length: Math.max(0, pages - 1) }, (_, i) => get(`${path}${sep}limit=1000&offset=${(i + 1) * 1000}`, { signal })));
  const items = first.items.concat(...rest.map((p) => p.items));
  return { total: first.total, items, complete: items.length >= first.total };
}
