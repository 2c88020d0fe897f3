namespace Folio.Cpu;

/// <summary>
/// What the cache of mapped experts' packed panels has done since load (see
/// <see cref="CpuRunnerOptions.ExpertCacheBytes"/>): uses that found the panels packed, uses that
/// packed them from the file, weights dropped to make room, and bytes held against the capacity.
/// </summary>
public readonly record struct ExpertCacheCounters(long Hits, long Misses, long Evictions, long UsedBytes, long CapacityBytes);
