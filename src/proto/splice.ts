import { MessageId } from "./types.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";
import { smallBytes } from "../util/small-bytes.ts";

/**
 * A header string field as on the wire: its length byte, then its UTF-8 bytes. `s` must be
 * one that was decoded or encoded before (at most 255 UTF-8 bytes, no lone surrogate).
 *
 * @example
 * ```ts
 * stringField("bob"); // 03 62 6f 62
 * ```
 */
export function stringField(s: string): Uint8Array {
  const len = utf8Length(s, 255);
  const out = new Uint8Array(1 + len);
  out[0] = len;
  writeUtf8(out, 1, s, len);
  return out;
}

/**
 * The header of the DELIVER a broker makes of a MAILBOX-SEND or SERVICE-SEND header that
 * `decode` accepted: the same bytes as `encode` gives for MAILBOX-DELIVER / SERVICE-DELIVER
 * with `sender`, and the address, subject and tracker of the SEND, which are copied as they
 * are (they are laid out alike in both), so nothing is decoded or re-encoded.
 * `sender` is a {@link stringField}. Bytes after the SEND's last field are not copied.
 *
 * @example
 * ```ts
 * const header = deliverHeader(stringField("alice"), sendFrames[0]);
 * router.send(worker, [header, ...content]); // SERVICE-DELIVER sender=alice
 * ```
 */
export function deliverHeader(sender: Uint8Array, send: Uint8Array): Uint8Array {
  const id = send[2] === MessageId.SERVICE_SEND ? MessageId.SERVICE_DELIVER : MessageId.MAILBOX_DELIVER;
  // address, subject and tracker: three length-prefixed strings from offset 3.
  let end = 3;
  end += 1 + (send[end] as number);
  end += 1 + (send[end] as number);
  end += 1 + (send[end] as number);
  const senderLength = sender.length;
  const out = smallBytes(3 + senderLength + end - 3);
  out[0] = 0xaa;
  out[1] = 0xa8;
  out[2] = id;
  let pos = 3;
  for (let i = 0; i < senderLength; i++) out[pos++] = sender[i] as number;
  for (let i = 3; i < end; i++) out[pos++] = send[i] as number;
  return out;
}

/**
 * Whether a CONFIRM header that `decode` accepted ends at its last field, so that forwarding
 * the frame as it is sends the very bytes `encode` would make of the decoded message.
 *
 * @example
 * ```ts
 * if (exactConfirm(frames[0])) router.send(requester, [frames[0]]);
 * ```
 */
export function exactConfirm(confirm: Uint8Array): boolean {
  let end = 3;
  end += 1 + (confirm[end] as number);
  end += 2;
  end += 1 + (confirm[end] as number);
  return end === confirm.length;
}
