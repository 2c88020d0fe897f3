using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;

namespace Folio.Architecture.Tests.Metadata;

/// <summary>
/// Walks a method body's IL and yields the metadata tokens its instructions carry (types, fields,
/// methods, member references, method instantiations, call-site signatures). Operand sizes come
/// from the runtime's own opcode table, so every instruction is stepped over correctly.
/// </summary>
internal static class IlTokens
{
    private static readonly OperandType?[] OneByte = new OperandType?[256];
    private static readonly OperandType?[] TwoByte = new OperandType?[256];

    static IlTokens()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is not OpCode opCode)
            {
                continue;
            }

            ushort value = unchecked((ushort)opCode.Value);
            if (opCode.Size == 1)
            {
                OneByte[value] = opCode.OperandType;
            }
            else
            {
                TwoByte[value & 0xFF] = opCode.OperandType;
            }
        }
    }

    public static List<EntityHandle> Read(MethodBodyBlock body)
    {
        var tokens = new List<EntityHandle>();
        var il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            int offset = il.Offset;
            byte first = il.ReadByte();
            OperandType? operand = first == 0xFE ? TwoByte[il.ReadByte()] : OneByte[first];
            if (operand is null)
            {
                throw new BadImageFormatException($"unknown IL opcode 0x{first:X2} at offset {offset}");
            }

            switch (operand.Value)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    il.ReadByte();
                    break;
                case OperandType.InlineVar:
                    il.ReadUInt16();
                    break;
                case OperandType.InlineBrTarget:
                case OperandType.InlineI:
                case OperandType.ShortInlineR:
                case OperandType.InlineString:
                    il.ReadInt32();
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    il.ReadInt64();
                    break;
                case OperandType.InlineSwitch:
                    int targets = il.ReadInt32();
                    for (int i = 0; i < targets; i++)
                    {
                        il.ReadInt32();
                    }

                    break;
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineSig:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                    tokens.Add(MetadataTokens.EntityHandle(il.ReadInt32()));
                    break;
                default:
                    throw new BadImageFormatException($"IL operand kind {operand.Value} at offset {offset} is not handled");
            }
        }

        return tokens;
    }
}
