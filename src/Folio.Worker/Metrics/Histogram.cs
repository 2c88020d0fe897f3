using System.Globalization;
using System.Text;

namespace Folio.Worker.Metrics;

/// <summary>A Prometheus histogram with fixed buckets (seconds), lock-protected: observed a few times per request, not per token.</summary>
internal sealed class Histogram(string name, string help, double[] buckets)
{
    private readonly long[] _counts = new long[buckets.Length];
    private readonly object _gate = new();
    private double _sum;
    private long _count;

    public void Observe(double value)
    {
        lock (_gate)
        {
            for (int i = 0; i < buckets.Length; i++)
            {
                if (value <= buckets[i])
                {
                    _counts[i]++;
                }
            }

            _sum += value;
            _count++;
        }
    }

    public void Write(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(name).Append(' ').AppendLine(help);
        sb.Append("# TYPE ").Append(name).AppendLine(" histogram");
        lock (_gate)
        {
            for (int i = 0; i < buckets.Length; i++)
            {
                sb.Append(name).Append("_bucket{le=\"").Append(buckets[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ").AppendLine(_counts[i].ToString(CultureInfo.InvariantCulture));
            }

            sb.Append(name).Append("_bucket{le=\"+Inf\"} ").AppendLine(_count.ToString(CultureInfo.InvariantCulture));
            sb.Append(name).Append("_sum ").AppendLine(_sum.ToString("R", CultureInfo.InvariantCulture));
            sb.Append(name).Append("_count ").AppendLine(_count.ToString(CultureInfo.InvariantCulture));
        }
    }
}
