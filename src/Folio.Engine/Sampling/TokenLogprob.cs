namespace Folio.Engine.Sampling;

/// <summary>A token and its log-probability under the raw model distribution.</summary>
public readonly record struct TokenLogprob(int TokenId, float Logprob);

/// <summary>
/// Logprobs of one generated token: the sampled token's, and the top alternatives (highest first,
/// lowest id among ties). Computed from log_softmax of the raw model logits, before penalties,
/// temperature and truncation (vLLM V1's default "raw_logprobs"), so they describe the model, not the
/// sampling settings.
/// </summary>
public sealed record SampledLogprobs(float Logprob, TokenLogprob[] Top);
