#!/usr/bin/env python3
"""Decode throughput of Hugging Face transformers' generate() on a GPU, for comparison with
`folio cuda bench --model SAME_FOLDER` (same weights, same GPU, same prompt and output lengths).

    python3 native-kernels/bench/hf_generate.py MODEL_DIR [--batch 64] [--prompt 128] [--new 64]

Prints decode tokens/s (new tokens of the whole batch over the time of generate() minus one
prefill, measured separately) in bf16 with greedy decoding and the default (sdpa) attention."""
import argparse
import time

import torch
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--batch", type=int, default=64)
p.add_argument("--prompt", type=int, default=128)
p.add_argument("--new", type=int, default=64)
a = p.parse_args()

model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.bfloat16).cuda().eval()
vocab = model.config.vocab_size
g = torch.Generator().manual_seed(5)
ids = torch.randint(0, vocab, (a.batch, a.prompt), generator=g).cuda()
mask = torch.ones_like(ids)


def run(new_tokens):
    torch.cuda.synchronize()
    t = time.perf_counter()
    with torch.no_grad():
        model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       do_sample=False, pad_token_id=0)
    torch.cuda.synchronize()
    return time.perf_counter() - t


run(2)  # warm-up
prefill = run(1)
total = run(a.new)
decode = max(total - prefill, 1e-9)
print(f"transformers {torch.__version__}/{torch.version.cuda} on {torch.cuda.get_device_name()}: batch {a.batch}, "
      f"prompt {a.prompt}, {a.new} new tokens: {a.batch * (a.new - 1) / decode:.1f} decode tokens/s "
      f"({total:.2f} s total, {prefill:.3f} s prefill)")
