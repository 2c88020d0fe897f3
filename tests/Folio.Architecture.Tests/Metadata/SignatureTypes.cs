using System.Collections.Immutable;
using System.Reflection.Metadata;

namespace Folio.Architecture.Tests.Metadata;

/// <summary>
/// Decodes a signature (field, method, local variables, type specification, method
/// instantiation) into every named type it mentions: generic arguments, array and pointer
/// element types, modifiers. Primitive types and generic parameters name nothing.
/// </summary>
internal sealed class SignatureTypes(TypeNames names) : ISignatureTypeProvider<ImmutableArray<TypeName>, object?>
{
    public ImmutableArray<TypeName> GetPrimitiveType(PrimitiveTypeCode typeCode) => [];

    public ImmutableArray<TypeName> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) =>
        [names.Of(handle)];

    public ImmutableArray<TypeName> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) =>
        [names.Of(handle)];

    public ImmutableArray<TypeName> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
        reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

    public ImmutableArray<TypeName> GetSZArrayType(ImmutableArray<TypeName> elementType) => elementType;

    public ImmutableArray<TypeName> GetArrayType(ImmutableArray<TypeName> elementType, ArrayShape shape) => elementType;

    public ImmutableArray<TypeName> GetByReferenceType(ImmutableArray<TypeName> elementType) => elementType;

    public ImmutableArray<TypeName> GetPointerType(ImmutableArray<TypeName> elementType) => elementType;

    public ImmutableArray<TypeName> GetPinnedType(ImmutableArray<TypeName> elementType) => elementType;

    public ImmutableArray<TypeName> GetGenericInstantiation(ImmutableArray<TypeName> genericType, ImmutableArray<ImmutableArray<TypeName>> typeArguments)
    {
        var all = ImmutableArray.CreateBuilder<TypeName>();
        all.AddRange(genericType);
        foreach (var argument in typeArguments)
        {
            all.AddRange(argument);
        }

        return all.ToImmutable();
    }

    public ImmutableArray<TypeName> GetGenericMethodParameter(object? genericContext, int index) => [];

    public ImmutableArray<TypeName> GetGenericTypeParameter(object? genericContext, int index) => [];

    public ImmutableArray<TypeName> GetModifiedType(ImmutableArray<TypeName> modifier, ImmutableArray<TypeName> unmodifiedType, bool isRequired) =>
        unmodifiedType.AddRange(modifier);

    public ImmutableArray<TypeName> GetFunctionPointerType(MethodSignature<ImmutableArray<TypeName>> signature) => Flatten(signature);

    public static ImmutableArray<TypeName> Flatten(MethodSignature<ImmutableArray<TypeName>> signature)
    {
        var all = ImmutableArray.CreateBuilder<TypeName>();
        all.AddRange(signature.ReturnType);
        foreach (var parameter in signature.ParameterTypes)
        {
            all.AddRange(parameter);
        }

        return all.ToImmutable();
    }
}
