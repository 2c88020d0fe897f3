using Folio.Models;

namespace Folio.Cpu.Quantized;

/// <summary>
/// The scalar form of <see cref="QuantGemm"/> for machines without AVX2: the same integer sums and
/// the same float steps, one output at a time.
/// </summary>
internal static unsafe class QuantGemmScalar
{
    public static void Panel(in PanelJob job, int m)
    {
        var f = job.Format;
        var a = job.Activations;
        int groups = f.SuperBlock / f.Group;
        bool hasMin = f.Scales is ScaleKind.BlockMin or ScaleKind.GroupsMin or ScaleKind.GroupsMinPacked;
        var levels = Dequantizer.Iq4NlLevels;
        float* acc = stackalloc float[PanelFormat.Rows];
        for (int row = 0; row < m; row++)
        {
            sbyte* qx = a.RowQ(row);
            float* dx = a.RowD(row);
            int* sums = a.RowSums(row);
            for (int col = 0; col < PanelFormat.Rows; col++)
            {
                float total = 0;
                for (int s = 0; s < job.SuperBlocks; s++)
                {
                    byte* rec = job.Data + ((long)s * f.RecordBytes);
                    sbyte* xs = qx + (s * f.SuperBlock);
                    int* ss = sums + (s * f.SuperBlock / 16);
                    float d = Half(PanelRecord.D(f, rec)[col]);
                    float mm = hasMin ? Half(PanelRecord.M(f, rec)[col]) : 0f;
                    int isum = 0, imin = 0;
                    for (int j = 0; j < groups; j++)
                    {
                        int sum = 0;
                        for (int v = j * f.Group; v < (j + 1) * f.Group; v++)
                        {
                            int code = PanelRecord.GetCode(f, rec, v, col);
                            if (f.Codes == CodeKind.NibbleTable)
                            {
                                code = levels[code];
                            }

                            sum += code * xs[v];
                        }

                        int xsum = f.Group == 16 ? ss[j] : ss[2 * j] + ss[(2 * j) + 1];
                        int t = sum - (f.Offset * xsum);
                        if (!f.HasGroups)
                        {
                            float c = (float)t * (d * dx[s]);
                            if (hasMin)
                            {
                                c += mm * a.RowScaledSums(row)[s];
                            }

                            total += c;
                            continue;
                        }

                        byte g = PanelRecord.GroupScales(f, rec)[(j * PanelFormat.Rows) + col];
                        (int scale, int min) = f.Scales switch
                        {
                            ScaleKind.Groups => ((int)(sbyte)g, 0),
                            ScaleKind.GroupsMin => (g, PanelRecord.GroupMins(f, rec)[(j * PanelFormat.Rows) + col]),
                            _ => (g & 0xF, g >> 4),
                        };
                        isum += scale * t;
                        imin += min * xsum;
                    }

                    if (f.HasGroups)
                    {
                        float c = (float)isum * (d * dx[s]);
                        if (hasMin)
                        {
                            c -= (float)imin * (mm * dx[s]);
                        }

                        total += c;
                    }
                }

                acc[col] = total;
            }

            QuantGemm.Store(acc, job.Y + ((long)row * job.Ldy), job.Bias, job.Accumulate, job.Valid);
        }
    }

    private static float Half(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);
}
