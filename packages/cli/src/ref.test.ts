import { expect } from 'chai';
import { CliError, EXIT } from './exit-codes.js';
import { parseRange } from './read.js';
import { browserUrl, parseRef } from './ref.js';

const settings = { server: 'http://127.0.0.1:8080', token: undefined };

describe('parseRef', () => {
  it('takes an id or a name on the configured server', () => {
    expect(parseRef('01a2', settings)).to.deep.equal({ server: 'http://127.0.0.1:8080', resource: '01a2', token: undefined });
    expect(parseRef('ci/1234/build.log', { ...settings, token: 't' })).to.deep.equal({
      server: 'http://127.0.0.1:8080',
      resource: 'ci/1234/build.log',
      token: 't',
    });
  });

  it('takes every URL the server hands out, keeping its server (with a publicUrl prefix) and its token', () => {
    const cases: [string, string, string][] = [
      ['http://h:1/api/v1/resources/01a2/content', 'http://h:1', '01a2'],
      ['http://h:1/api/v1/resources/ci%2F1%2Fb.log/lines?tail=5', 'http://h:1', 'ci/1/b.log'],
      ['https://logs.example.com/spool/api/v1/names/ci/1/b.log?follow=1', 'https://logs.example.com/spool', 'ci/1/b.log'],
      ['ws://h:1/ws/spool/v1/resources/ci/1/b.log', 'http://h:1', 'ci/1/b.log'],
      ['wss://h/ws/streaming/download/01a2', 'https://h', '01a2'],
      ['http://h:1/files/01a2', 'http://h:1', '01a2'],
      ['http://h:1/#/resources/ci%2F1%2Fb.log', 'http://h:1', 'ci/1/b.log'],
    ];
    for (const [url, server, resource] of cases) expect(parseRef(url, settings), url).to.deep.equal({ server, resource, token: undefined });
    expect(parseRef('http://h:1/?token=spr_x#/resources/01a2', settings).token).to.equal('spr_x');
    expect(parseRef('http://h:1/api/v1/resources/01a2/content?token=spr_x', { ...settings, token: 'mine' }).token).to.equal('mine');
  });

  it('refuses a URL that names no resource, as a usage error', () => {
    for (const bad of ['http://h:1/elsewhere', 'http://h:1/api/v1/resources/', '']) {
      expect(() => parseRef(bad, settings), bad)
        .to.throw(CliError)
        .with.property('exitCode', EXIT.USAGE);
    }
  });

  it('gives a browser URL that parseRef reads back', () => {
    const url = browserUrl('http://h:1', 'ci/1/b.log', 'spr_x');
    expect(url).to.equal('http://h:1/?token=spr_x#/resources/ci%2F1%2Fb.log');
    expect(parseRef(url, settings)).to.deep.equal({ server: 'http://h:1', resource: 'ci/1/b.log', token: 'spr_x' });
  });
});

describe('parseRange', () => {
  it('reads a-b (inclusive), a- and -n within the size', () => {
    expect(parseRange('0-9', 100)).to.deep.equal({ start: 0, end: 10 });
    expect(parseRange('90-', 100)).to.deep.equal({ start: 90, end: 100 });
    expect(parseRange('-5', 100)).to.deep.equal({ start: 95, end: 100 });
    expect(parseRange('50-500', 100)).to.deep.equal({ start: 50, end: 100 });
  });

  it('refuses what is no range or lies outside', () => {
    for (const bad of ['', '-', 'a-b', '5-2', '200-']) expect(() => parseRange(bad, 100), bad).to.throw(CliError);
  });
});
