/**
 * Spool's web page (docs/web.md): the resources with live state, a viewer that follows a
 * growing log and jumps to any line of a huge one (only the visible lines are fetched),
 * and drag-and-drop uploads over tus with Uppy. Everything goes through the public HTTP
 * API with the user's token, so its access rules hold here as everywhere.
 */

import type { ResourceFields } from '@spool/common';
import Uppy from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import Tus from '@uppy/tus';
import { renderAnsi, stripAnsi } from './ansi.js';

/** The HTTP API's resource JSON (docs/protocols/http.md). */
type Resource = ResourceFields;
interface LinePage {
  lines: string[];
  totalLines: number;
  state: Resource['state'];
}
interface WebConfig {
  tusBasePath: string;
  authEnabled: boolean;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const TOKEN_KEY = 'spool.token';
const ROW = 18;
/** Browsers cap an element's height (~33M px in Chromium): beyond this the scrollbar is scaled. */
const MAX_SPACER = 8_000_000;
const PAGE = 200;
const MAX_PAGES = 60;
const LIST_POLL_MS = 2000;

// ---- token and API -------------------------------------------------------------------

function initialToken(): string | null {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) localStorage.setItem(TOKEN_KEY, fromUrl);
  return localStorage.getItem(TOKEN_KEY);
}
let token = initialToken();

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
    if (response.status === 401 || response.status === 403) askForToken(body.error?.message ?? 'A token is needed');
    throw new ApiError(response.status, body.error?.message ?? `HTTP ${response.status}`);
  }
  return (await response.json()) as T;
}
/** A URL a browser opens by itself (download, EventSource: no header), with the token as `?token=`. */
const withToken = (path: string) => (token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path);
const resourcePath = (id: string) => `api/v1/resources/${encodeURIComponent(id)}`;

function askForToken(why: string): void {
  $('token-form').hidden = false;
  $('connection').textContent = why;
}
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $<HTMLInputElement>('token-input').value.trim() || null;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  $('token-form').hidden = true;
  $('connection').textContent = '';
  void route();
});
$('token-forget').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  token = null;
  location.reload();
});
$('token-forget').hidden = token === null;

const formatSize = (bytes: number) =>
  bytes >= 1 << 30
    ? `${(bytes / (1 << 30)).toFixed(1)} GiB`
    : bytes >= 1 << 20
      ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
      : bytes >= 1024
        ? `${(bytes / 1024).toFixed(1)} KiB`
        : `${bytes} B`;
const stateCell = (state: string, error: string | null) => {
  const cell = document.createElement('span');
  cell.className = `state state-${state}`;
  cell.textContent = state === 'FAILED' ? 'FAILED' : state === 'IN_PROGRESS' ? 'LIVE' : state;
  if (error) cell.title = error;
  return cell;
};

// ---- list --------------------------------------------------------------------------------

let listed: Resource[] = [];
let listTimer: number | undefined;

function renderList(): void {
  const filter = $<HTMLInputElement>('filter').value.trim().toLowerCase();
  const shown = listed.filter((r) => !filter || [r.name, r.filename, r.contextId, r.id].some((f) => f?.toLowerCase().includes(filter)));
  const body = document.querySelector('#resources tbody') as HTMLElement;
  body.replaceChildren(
    ...shown.map((r) => {
      const row = document.createElement('tr');
      row.dataset.id = r.id;
      const name = document.createElement('td');
      name.className = 'name';
      const link = document.createElement('a');
      link.href = `#/resources/${encodeURIComponent(r.id)}`;
      link.textContent = r.name ?? r.filename;
      name.append(link);
      const cells = [
        formatSize(r.size),
        r.lines === null ? '–' : r.lines.toLocaleString('en-US'),
        r.contextId ?? '',
        new Date(r.createdAt).toLocaleString(),
      ];
      const state = document.createElement('td');
      state.append(stateCell(r.state, r.error));
      row.append(
        name,
        state,
        ...cells.map((text, i) => Object.assign(document.createElement('td'), { textContent: text, className: i < 2 ? 'num' : '' })),
      );
      return row;
    }),
  );
  $('count').textContent = `${shown.length} of ${listed.length}`;
}

async function refreshList(): Promise<void> {
  try {
    listed = (await api<{ resources: Resource[] }>('api/v1/resources?order=desc&limit=200')).resources;
    renderList();
  } catch (err) {
    $('count').textContent = (err as Error).message;
  }
}
$('filter').addEventListener('input', renderList);

// ---- upload (Uppy + tus) -------------------------------------------------------------------

async function startUploader(): Promise<void> {
  const config = await fetch('web/config.json').then((r) => r.json() as Promise<WebConfig>);
  const uppy = new Uppy({ autoProceed: true });
  uppy.use(Dashboard, {
    inline: true,
    target: '#uploader',
    height: 180,
    proudlyDisplayPoweredByUppy: false,
    note: 'Drop files here: uploaded over tus, resumed after a network hiccup',
  });
  uppy.use(Tus, {
    endpoint: new URL(config.tusBasePath.replace(/^\/+/, ''), document.baseURI).href,
    headers: (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {}),
    // A hiccup is retried, resuming at the server's offset (tus HEAD), for about a minute.
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
    removeFingerprintOnSuccess: true,
  });
  uppy.on('upload-success', (_file, response) => {
    const id = decodeURIComponent((response.uploadURL ?? '').replace(/\/+$/, '').split('/').pop() ?? '');
    if (!id) return;
    const link = $<HTMLAnchorElement>('shared-link');
    link.href = new URL(`#/resources/${encodeURIComponent(id)}`, document.baseURI).href;
    link.textContent = link.href;
    $('shared').hidden = false;
    void refreshList();
  });
}

// ---- viewer ------------------------------------------------------------------------------

interface Viewing {
  id: string;
  resource: Resource;
  total: number;
  /** Pages of lines, with the line count known when each was asked for (LRU, at most MAX_PAGES). */
  pages: Map<number, { lines: string[]; total: number }>;
  loading: Map<number, Promise<void>>;
  events: EventSource | undefined;
  following: boolean;
  target: number | undefined;
  hits: Set<number>;
  /** Where Find next goes on for `searched` (the line after the last hit, or where a search stopped). */
  searchFrom: number;
  searched: string;
}
let viewing: Viewing | undefined;
const log = $('log');
let programmaticScroll = false;

const visibleRows = () => Math.ceil(log.clientHeight / ROW) + 1;
const spacerHeight = (v: Viewing) => Math.min(v.total * ROW, MAX_SPACER);
const scaled = (v: Viewing) => v.total * ROW > MAX_SPACER;

/** The first line shown for the current scroll position, and where its row is drawn. */
function firstLine(v: Viewing): { first: number; top: number } {
  if (!scaled(v)) {
    const first = Math.floor(log.scrollTop / ROW);
    return { first, top: first * ROW };
  }
  const room = Math.max(1, spacerHeight(v) - log.clientHeight);
  const first = Math.round((log.scrollTop / room) * Math.max(0, v.total - visibleRows() + 1));
  return { first, top: log.scrollTop };
}

function scrollToLine(v: Viewing, line: number): void {
  // The spacer first: a scroll past the old height would stop there.
  $('log-spacer').style.height = `${spacerHeight(v)}px`;
  programmaticScroll = true;
  if (!scaled(v)) log.scrollTop = line * ROW;
  else log.scrollTop = (line / Math.max(1, v.total - visibleRows() + 1)) * Math.max(1, spacerHeight(v) - log.clientHeight);
}

function loadPage(v: Viewing, page: number): void {
  if (v.loading.has(page)) return;
  const cached = v.pages.get(page);
  // A page fetched while the log was shorter may lack lines that exist now: fetch it again.
  if (cached && (cached.lines.length === PAGE || cached.total >= v.total)) return;
  const total = v.total;
  const task = api<LinePage>(`${resourcePath(v.id)}/lines?start=${page * PAGE}&count=${PAGE}`)
    .then((answer) => {
      v.pages.set(page, { lines: answer.lines, total });
      if (v.pages.size > MAX_PAGES) v.pages.delete(v.pages.keys().next().value as number);
    })
    .catch(() => undefined)
    .finally(() => {
      v.loading.delete(page);
      if (viewing === v) scheduleRender();
    });
  v.loading.set(page, task);
}

let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderLines();
  });
}

function renderLines(): void {
  const v = viewing;
  if (!v) return;
  $('log-spacer').style.height = `${spacerHeight(v)}px`;
  const { first, top } = firstLine(v);
  const rows: HTMLElement[] = [];
  for (let line = first; line < Math.min(v.total, first + visibleRows()); line++) {
    const page = Math.floor(line / PAGE);
    const text = v.pages.get(page)?.lines[line - page * PAGE];
    if (text === undefined) loadPage(v, page);
    const row = document.createElement('div');
    row.className = `line${v.hits.has(line) ? ' hit' : ''}${v.target === line ? ' target' : ''}`;
    row.dataset.line = String(line + 1);
    const no = document.createElement('span');
    no.className = 'no';
    no.textContent = String(line + 1);
    row.append(no);
    if (text === undefined) row.append('…');
    else renderAnsi(row, text);
    rows.push(row);
  }
  const lines = $('log-lines');
  lines.style.top = `${top}px`;
  lines.replaceChildren(...rows);
}

log.addEventListener('scroll', () => {
  const v = viewing;
  if (!v) return;
  if (programmaticScroll) programmaticScroll = false;
  else {
    // The user scrolled: following pauses unless they are at the bottom.
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 2;
    setFollowing(v, atBottom && v.resource.state !== 'COMPLETED' && v.resource.state !== 'FAILED');
  }
  scheduleRender();
});

function setFollowing(v: Viewing, on: boolean): void {
  v.following = on;
  $('follow').classList.toggle('on', on);
  $('follow').textContent = on ? 'Following' : 'Follow';
  if (on) {
    scrollToLine(v, v.total);
    scheduleRender();
  }
}
$('follow').addEventListener('click', () => viewing && setFollowing(viewing, !viewing.following));

function showStatus(v: Viewing): void {
  const r = v.resource;
  $('r-title').textContent = r.name ?? r.filename;
  $('r-state').replaceChildren(stateCell(r.state, r.error));
  $('r-size').textContent = `${formatSize(r.size)}${r.lines === null ? '' : ` · ${r.lines.toLocaleString('en-US')} lines`}`;
  $('r-error').hidden = r.state !== 'FAILED';
  $('r-error').textContent = r.state === 'FAILED' ? `This upload FAILED: ${r.error ?? 'no reason given'}` : '';
}

function onStatus(v: Viewing, status: Partial<Resource>): void {
  v.resource = { ...v.resource, ...status };
  v.total = v.resource.lines ?? 0;
  // Pages fetched before these lines existed are fetched again as they are shown (loadPage).
  if (v.resource.state === 'COMPLETED' || v.resource.state === 'FAILED') v.events?.close();
  showStatus(v);
  if (v.following) scrollToLine(v, v.total);
  scheduleRender();
}

async function openResource(id: string): Promise<void> {
  closeViewer();
  $('list-view').hidden = true;
  $('resource-view').hidden = false;
  let resource: Resource;
  try {
    resource = await api<Resource>(resourcePath(id));
  } catch (err) {
    $('r-title').textContent = `${id}: ${(err as Error).message}`;
    return;
  }
  const v: Viewing = {
    id: resource.id,
    resource,
    total: resource.lines ?? 0,
    pages: new Map(),
    loading: new Map(),
    events: undefined,
    following: false,
    target: undefined,
    hits: new Set(),
    searchFrom: 0,
    searched: '',
  };
  viewing = v;
  const download = withToken(`${resourcePath(v.id)}/content?download=1`);
  $<HTMLAnchorElement>('r-download').href = download;
  $<HTMLAnchorElement>('binary-download').href = download;
  const text = resource.supportsLineAccess;
  $('text-tools').hidden = !text;
  log.hidden = !text;
  $('binary').hidden = text;
  showStatus(v);
  const live = resource.state === 'INITIATED' || resource.state === 'IN_PROGRESS';
  if (live) {
    const events = new EventSource(withToken(`${resourcePath(v.id)}/events`));
    events.addEventListener('status', (event) => onStatus(v, JSON.parse((event as MessageEvent<string>).data) as Partial<Resource>));
    events.addEventListener('end', () => events.close());
    v.events = events;
  }
  if (text) {
    log.scrollTop = 0;
    setFollowing(v, live);
    scheduleRender();
  }
}

function closeViewer(): void {
  viewing?.events?.close();
  viewing = undefined;
}

$('jump-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const v = viewing;
  const wanted = Number($<HTMLInputElement>('jump').value);
  if (!v || !Number.isInteger(wanted) || wanted < 1) return;
  const line = Math.min(wanted, Math.max(1, v.total)) - 1;
  v.target = line;
  setFollowing(v, false);
  scrollToLine(v, line);
  scheduleRender();
});

/** Find next: scans forward from the last hit, a bounded number of lines per click. */
$('search-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const v = viewing;
  const needle = $<HTMLInputElement>('search').value;
  if (!v || needle === '') return;
  const result = $('search-result');
  const step = 2000;
  const budget = 50;
  let start = v.searched === needle ? v.searchFrom : firstLine(v).first;
  v.searched = needle;
  for (let round = 0; round < budget && start < v.total; round++, start += step) {
    result.textContent = `searching line ${(start + 1).toLocaleString('en-US')}…`;
    const page = await api<LinePage>(`${resourcePath(v.id)}/lines?start=${start}&count=${step}`);
    const index = page.lines.findIndex((line) => stripAnsi(line).includes(needle));
    if (index >= 0) {
      const line = start + index;
      v.hits = new Set([line]);
      v.target = line;
      v.searchFrom = line + 1;
      setFollowing(v, false);
      scrollToLine(v, Math.max(0, line - 3));
      result.textContent = `found on line ${(line + 1).toLocaleString('en-US')}`;
      scheduleRender();
      return;
    }
    if (page.lines.length < step) break;
  }
  result.textContent = start >= v.total ? 'no more matches' : `not found up to line ${start.toLocaleString('en-US')}: Find next goes on`;
  v.searchFrom = start;
});

// ---- routing ---------------------------------------------------------------------------

async function route(): Promise<void> {
  const match = /^#\/resources\/(.+)$/.exec(location.hash);
  window.clearInterval(listTimer);
  if (match?.[1]) {
    await openResource(decodeURIComponent(match[1]));
    return;
  }
  closeViewer();
  $('list-view').hidden = false;
  $('resource-view').hidden = true;
  await refreshList();
  listTimer = window.setInterval(() => void refreshList(), LIST_POLL_MS);
}

window.addEventListener('hashchange', () => void route());
window.addEventListener('resize', scheduleRender);
void startUploader();
void route();
