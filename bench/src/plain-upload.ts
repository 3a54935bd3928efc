import { promises as fs } from 'node:fs';
import { ServerProcess, type ServerProcessOptions } from './process.js';
import { type BenchContext, type RunMeasurement, timeTransfer, verify } from './scenario.js';

/**
 * One measured upload to a plain peer process that writes what it receives into
 * `targetFile`, its first argument (an upload baseline): the transfer timed, the peer stopped, its answer
 * checked by `checkAnswer`, the file compared with the data byte for byte, then removed.
 */
export async function plainFileUploadRun<T>(
  context: BenchContext,
  peerOptions: ServerProcessOptions,
  targetFile: string,
  transfer: (peer: ServerProcess) => Promise<T>,
  checkAnswer: (answer: T) => void,
): Promise<RunMeasurement> {
  const { pattern, sizeBytes } = context;
  const peer = await ServerProcess.start({ ...peerOptions, args: [targetFile, ...(peerOptions.args ?? [])] });
  try {
    const timed = await timeTransfer(peer, () => transfer(peer));
    const server = await peer.stop();
    checkAnswer(timed.result);
    const file = await pattern.verifyFile(targetFile, sizeBytes);
    verify(file.ok, `${targetFile} holds ${file.size} bytes, ${file.ok ? '' : 'not '}the ones sent`);
    return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server, checks: ['size', 'file content'] };
  } finally {
    await peer.stop();
    await fs.rm(targetFile, { force: true });
  }
}
