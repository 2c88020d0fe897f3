// Chat-prompt oracle for Folio's tests: transformers.js renders and tokenizes conversations with a
// tokenizer folder's own chat template (or a given one), as apply_chat_template(..., tokenize=true).
// transformers.js has no continue_final_message, so for those cases the rendered text is cut as
// Python transformers cuts it (tokenization_utils_base.apply_chat_template) and then encoded
// without special tokens, which is what Python does next.
// stdin: {"cases": [{"folder": "<abs path>", "template"?: "...", "messages": [...], "tools"?: [...],
//          "add_generation_prompt": bool, "continue_final_message": bool, "kwargs"?: {...}}, ...]}
// stdout: {"results": [{"text": "...", "ids": [...]} | {"error": "..."}, ...]}
import { AutoTokenizer, env } from '@huggingface/transformers';
import { readFileSync } from 'node:fs';
import path from 'node:path';

env.allowRemoteModels = false;
env.allowLocalModels = true;

const tokenizers = new Map();
async function load(folder) {
  if (!tokenizers.has(folder)) {
    env.localModelPath = path.dirname(folder) + path.sep;
    tokenizers.set(folder, await AutoTokenizer.from_pretrained(path.basename(folder)));
  }
  return tokenizers.get(folder);
}

// Python's str.isspace: Unicode White_Space plus U+001C..U+001F (JavaScript's trim differs).
const isPySpace = ch => /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(ch);
const lstrip = s => { let i = 0; while (i < s.length && isPySpace(s[i])) i++; return s.slice(i); };
const rstrip = s => { let j = s.length; while (j > 0 && isPySpace(s[j - 1])) j--; return s.slice(0, j); };
const strip = s => lstrip(rstrip(s));

function continueFinalMessage(rendered, messages) {
  let finalMessage = messages[messages.length - 1].content;
  if (Array.isArray(finalMessage)) {
    finalMessage = [...finalMessage].reverse().find(b => 'text' in b)?.text;
    if (finalMessage === undefined) throw new Error('continue_final_message: no text in the final message');
  }
  const stripped = strip(finalMessage);
  if (!rendered.includes(stripped)) throw new Error('continue_final_message: the final message does not appear in the rendered chat');
  const loc = stripped.length === 0 ? rendered.length : rendered.lastIndexOf(stripped);
  const keep = lstrip(finalMessage).length;
  return rendered.slice(loc, loc + keep) === finalMessage ? rendered.slice(0, loc + keep) : rendered.slice(0, loc + stripped.length);
}

const request = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const c of request.cases) {
  try {
    const tokenizer = await load(c.folder);
    const options = {
      ...(c.kwargs ?? {}),
      tools: c.tools ?? null,
      add_generation_prompt: c.add_generation_prompt,
      ...(c.template ? { chat_template: c.template } : {}),
    };
    if (c.continue_final_message) {
      if (c.add_generation_prompt) throw new Error('continue_final_message and add_generation_prompt are not compatible');
      const text = continueFinalMessage(tokenizer.apply_chat_template(c.messages, { ...options, tokenize: false }), c.messages);
      results.push({ text, ids: Array.from(tokenizer.encode(text, { add_special_tokens: false })) });
    } else {
      const text = tokenizer.apply_chat_template(c.messages, { ...options, tokenize: false });
      const ids = tokenizer.apply_chat_template(c.messages, { ...options, tokenize: true, return_tensor: false, return_dict: false });
      results.push({ text, ids: Array.from(ids) });
    }
  } catch (e) {
    results.push({ error: String(e && e.message || e) });
  }
}
process.stdout.write(JSON.stringify({ results }));
