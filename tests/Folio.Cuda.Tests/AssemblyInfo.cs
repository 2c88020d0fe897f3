// The emulated kernels run each block as one host thread per CUDA thread (128-256 threads): test
// classes running side by side on a 2-core CI machine would only thrash, so they run one by one.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
