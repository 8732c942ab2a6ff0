/**
 * Pure text helpers the main thread may use (no compute): the document split of
 * ARCHITECTURE.md "Loss over a text", so a text cell can count documents without the worker.
 */
export { END_OF_TEXT, splitDocuments } from '../runtime/text';
