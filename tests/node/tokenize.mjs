// Tokenizer oracle for Folio's tests: transformers.js encodes texts with a tokenizer folder.
// stdin: {"folder": "<absolute path holding tokenizer.json>", "texts": ["...", ...], "addSpecialTokens": true}
// stdout: {"ids": [[...], ...]}
import { AutoTokenizer, env } from '@huggingface/transformers';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const request = JSON.parse(readFileSync(0, 'utf8'));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(request.folder) + path.sep;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(request.folder));
const ids = request.texts.map(t => Array.from(tokenizer.encode(t, { add_special_tokens: request.addSpecialTokens ?? true })));
process.stdout.write(JSON.stringify({ ids }));
