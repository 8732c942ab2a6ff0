/**
 * Errors of hub loads that the page rebuilds from the worker's (workers/error-transfer.ts): plain
 * classes, no compute, so the main thread may import them.
 */
import { ModelFormatError } from '../errors';

/** Refused before downloading: the weights do not fit the device (the message has the numbers). */
export class HubMemoryError extends ModelFormatError {
  override name = 'HubMemoryError';
}
