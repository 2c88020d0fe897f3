using System.Collections.Immutable;
using System.Reflection.Metadata;

namespace Folio.Architecture.Tests.Metadata;

/// <summary>
/// Lets <see cref="CustomAttribute.DecodeValue{TType}"/> read attribute arguments, so that a
/// <c>typeof(SomeType)</c> argument is seen as a use of SomeType. An enum argument's size is read
/// from its definition when this assembly defines it; enums of other assemblies are taken as
/// int-sized (the default, and what every attribute enum Folio uses is), and a wrong guess shows
/// up as a decoding failure, which the reader reports.
/// </summary>
internal sealed class AttributeTypes(MetadataReader reader, TypeNames names) : ICustomAttributeTypeProvider<AttributeType>
{
    public AttributeType GetPrimitiveType(PrimitiveTypeCode typeCode) => new(null, typeCode, IsSystemType: false);

    public AttributeType GetSystemType() => new(null, null, IsSystemType: true);

    public AttributeType GetSZArrayType(AttributeType elementType) => elementType;

    public AttributeType GetTypeFromDefinition(MetadataReader metadata, TypeDefinitionHandle handle, byte rawTypeKind) =>
        new(names.Of(handle), EnumUnderlyingType(handle), IsSystemType: false);

    public AttributeType GetTypeFromReference(MetadataReader metadata, TypeReferenceHandle handle, byte rawTypeKind)
    {
        var name = names.Of(handle);

        // A constructor parameter of type System.Type arrives as a reference to it: its argument is a serialized type name.
        return new(name, null, IsSystemType: name is { Namespace: "System", Name: "Type" });
    }

    public AttributeType GetTypeFromSerializedName(string name) => new(names.OfSerialized(name), null, IsSystemType: false);

    public PrimitiveTypeCode GetUnderlyingEnumType(AttributeType type) => type.EnumUnderlying ?? PrimitiveTypeCode.Int32;

    public bool IsSystemType(AttributeType type) => type.IsSystemType;

    /// <summary>The type names passed as System.Type values among the decoded arguments.</summary>
    public static IEnumerable<TypeName> TypeArguments(CustomAttributeValue<AttributeType> value)
    {
        foreach (var argument in value.FixedArguments)
        {
            foreach (var name in TypeValues(argument))
            {
                yield return name;
            }
        }

        foreach (var argument in value.NamedArguments)
        {
            foreach (var name in TypeValues(new CustomAttributeTypedArgument<AttributeType>(argument.Type, argument.Value)))
            {
                yield return name;
            }
        }
    }

    private static IEnumerable<TypeName> TypeValues(CustomAttributeTypedArgument<AttributeType> argument)
    {
        switch (argument.Value)
        {
            // The decoder hands a System.Type argument over as the type its serialized name names.
            case AttributeType { Name: { } named }:
                yield return named;
                break;
            case ImmutableArray<CustomAttributeTypedArgument<AttributeType>> elements:
                foreach (var element in elements)
                {
                    foreach (var name in TypeValues(element))
                    {
                        yield return name;
                    }
                }

                break;
        }
    }

    private PrimitiveTypeCode? EnumUnderlyingType(TypeDefinitionHandle handle)
    {
        foreach (var fieldHandle in reader.GetTypeDefinition(handle).GetFields())
        {
            var field = reader.GetFieldDefinition(fieldHandle);
            if ((field.Attributes & System.Reflection.FieldAttributes.Static) == 0)
            {
                var blob = reader.GetBlobReader(field.Signature);
                blob.ReadSignatureHeader();
                return (PrimitiveTypeCode)blob.ReadSignatureTypeCode();
            }
        }

        return null;
    }
}

/// <summary>A type as an attribute argument decoder sees it.</summary>
internal readonly record struct AttributeType(TypeName? Name, PrimitiveTypeCode? EnumUnderlying, bool IsSystemType);
