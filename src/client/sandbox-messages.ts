// The IPC messages between a worker and its sandbox children (structured clone: Buffers travel as bytes).

export type ParentMessage =
  | { type: 'job'; id: number; fn: string; handle: string; unique: string; payload: Uint8Array }
  | { type: 'abort'; id: number };

export type ChildMessage =
  | { type: 'ready'; functions: string[] }
  | { type: 'progress'; id: number; numerator: number; denominator: number }
  | { type: 'data' | 'warning'; id: number; data: Uint8Array }
  | { type: 'done'; id: number; result: Uint8Array }
  | { type: 'error'; id: number; errorClass: string; message: string };
