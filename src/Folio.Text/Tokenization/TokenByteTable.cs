namespace Folio.Text.Tokenization;

/// <summary>
/// The bytes each token adds to decoded text, packed in one array at construction so that
/// <see cref="ITokenizer.TokenBytes"/> is a slice and never allocates.
/// </summary>
internal sealed class TokenByteTable
{
    private readonly byte[] _data;
    private readonly int[] _offsets;

    public TokenByteTable(int count, Func<int, byte[]> bytesOf)
    {
        _offsets = new int[count + 1];
        var all = new byte[count][];
        var total = 0;
        for (var id = 0; id < count; id++)
        {
            all[id] = bytesOf(id);
            _offsets[id] = total;
            total += all[id].Length;
        }

        _offsets[count] = total;
        _data = new byte[total];
        for (var id = 0; id < count; id++)
        {
            all[id].CopyTo(_data, _offsets[id]);
        }
    }

    public int Count => _offsets.Length - 1;

    public ReadOnlySpan<byte> Get(int id)
    {
        if ((uint)id >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id must be in [0, {Count}).");
        }

        return _data.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]);
    }
}
