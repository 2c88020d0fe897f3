using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Folio.Architecture.Tests.Metadata;

/// <summary>
/// Every use of a type by the code of one assembly, read from its metadata and IL without loading
/// it: signatures (base types, interfaces, generic constraints, fields, properties, events,
/// method parameters and returns, explicit interface implementations), attributes (their type
/// and typeof arguments) and method bodies (locals, catch clauses, and every type, field, method,
/// member reference, method instantiation and call-site signature the IL names).
/// </summary>
public sealed class AssemblyReferences
{
    private readonly MetadataReader _reader;
    private readonly PEReader _pe;
    private readonly TypeNames _names;
    private readonly SignatureTypes _signatures;
    private readonly AttributeTypes _attributeTypes;
    private readonly HashSet<CodeReference> _references = [];
    private readonly List<string> _problems = [];
    private TypeName _from;

    private AssemblyReferences(PEReader pe)
    {
        _pe = pe;
        _reader = pe.GetMetadataReader();
        _names = new TypeNames(_reader);
        _signatures = new SignatureTypes(_names);
        _attributeTypes = new AttributeTypes(_reader, _names);
        AssemblyName = _names.AssemblyName;
        ReferencedAssemblies = [.. _reader.AssemblyReferences.Select(h => _reader.GetString(_reader.GetAssemblyReference(h).Name))];
    }

    public string AssemblyName { get; }

    /// <summary>The assembly references in the manifest (what the compiler decided the code needs).</summary>
    public IReadOnlyList<string> ReferencedAssemblies { get; }

    /// <summary>References from a type to another type, one per (type, member, referenced type).</summary>
    public IReadOnlyCollection<CodeReference> References => _references;

    /// <summary>Metadata that could not be decoded (named, so that a gap in the graph is never silent).</summary>
    public IReadOnlyList<string> Problems => _problems;

    public static AssemblyReferences Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream, PEStreamOptions.PrefetchEntireImage);
        var assembly = new AssemblyReferences(pe);
        assembly.ReadAll();
        return assembly;
    }

    private void ReadAll()
    {
        foreach (var typeHandle in _reader.TypeDefinitions)
        {
            _from = _names.Of(typeHandle);
            ReadType(typeHandle);
        }
    }

    private void ReadType(TypeDefinitionHandle handle)
    {
        var type = _reader.GetTypeDefinition(handle);
        if (!type.BaseType.IsNil)
        {
            Add("(base type)", TypesOf(type.BaseType));
        }

        foreach (var implementation in type.GetInterfaceImplementations())
        {
            Add("(interface)", TypesOf(_reader.GetInterfaceImplementation(implementation).Interface));
        }

        ReadGenericParameters("(generic constraint)", type.GetGenericParameters());
        ReadAttributes("(attribute)", type.GetCustomAttributes());

        foreach (var fieldHandle in type.GetFields())
        {
            var field = _reader.GetFieldDefinition(fieldHandle);
            string member = _reader.GetString(field.Name);
            Add(member, field.DecodeSignature(_signatures, null));
            ReadAttributes(member, field.GetCustomAttributes());
        }

        foreach (var propertyHandle in type.GetProperties())
        {
            var property = _reader.GetPropertyDefinition(propertyHandle);
            string member = _reader.GetString(property.Name);
            Add(member, SignatureTypes.Flatten(property.DecodeSignature(_signatures, null)));
            ReadAttributes(member, property.GetCustomAttributes());
        }

        foreach (var eventHandle in type.GetEvents())
        {
            var @event = _reader.GetEventDefinition(eventHandle);
            string member = _reader.GetString(@event.Name);
            Add(member, TypesOf(@event.Type));
            ReadAttributes(member, @event.GetCustomAttributes());
        }

        foreach (var implementationHandle in type.GetMethodImplementations())
        {
            var implementation = _reader.GetMethodImplementation(implementationHandle);
            Add("(explicit implementation)", TypesOf(implementation.MethodDeclaration));
        }

        foreach (var methodHandle in type.GetMethods())
        {
            ReadMethod(methodHandle);
        }
    }

    private void ReadMethod(MethodDefinitionHandle handle)
    {
        var method = _reader.GetMethodDefinition(handle);
        string member = _reader.GetString(method.Name);
        Add(member, SignatureTypes.Flatten(method.DecodeSignature(_signatures, null)));
        ReadAttributes(member, method.GetCustomAttributes());
        ReadGenericParameters(member, method.GetGenericParameters());
        foreach (var parameterHandle in method.GetParameters())
        {
            ReadAttributes(member, _reader.GetParameter(parameterHandle).GetCustomAttributes());
        }

        if (method.RelativeVirtualAddress == 0)
        {
            return;
        }

        var body = _pe.GetMethodBody(method.RelativeVirtualAddress);
        if (!body.LocalSignature.IsNil)
        {
            var locals = _reader.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(_signatures, null);
            foreach (var local in locals)
            {
                Add(member, local);
            }
        }

        foreach (var region in body.ExceptionRegions)
        {
            if (!region.CatchType.IsNil)
            {
                Add(member, TypesOf(region.CatchType));
            }
        }

        try
        {
            foreach (var token in IlTokens.Read(body))
            {
                Add(member, TypesOf(token));
            }
        }
        catch (BadImageFormatException e)
        {
            _problems.Add($"{_from.FullName}.{member}: {e.Message}");
        }
    }

    private void ReadGenericParameters(string member, GenericParameterHandleCollection parameters)
    {
        foreach (var parameterHandle in parameters)
        {
            var parameter = _reader.GetGenericParameter(parameterHandle);
            foreach (var constraintHandle in parameter.GetConstraints())
            {
                Add(member, TypesOf(_reader.GetGenericParameterConstraint(constraintHandle).Type));
            }

            ReadAttributes(member, parameter.GetCustomAttributes());
        }
    }

    private void ReadAttributes(string member, CustomAttributeHandleCollection attributes)
    {
        foreach (var attributeHandle in attributes)
        {
            var attribute = _reader.GetCustomAttribute(attributeHandle);
            Add(member, DeclaringTypeOf(attribute.Constructor));
            try
            {
                var value = attribute.DecodeValue(_attributeTypes);
                foreach (var typeArgument in AttributeTypes.TypeArguments(value))
                {
                    Add(member, typeArgument);
                }
            }
            catch (BadImageFormatException e)
            {
                _problems.Add($"{_from.FullName}.{member}: attribute arguments could not be decoded ({e.Message})");
            }
        }
    }

    /// <summary>The types a handle names: a type itself, or a member's declaring type and signature.</summary>
    private ImmutableArray<TypeName> TypesOf(EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
                return [_names.Of((TypeDefinitionHandle)handle)];
            case HandleKind.TypeReference:
                return [_names.Of((TypeReferenceHandle)handle)];
            case HandleKind.TypeSpecification:
                return _reader.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(_signatures, null);
            case HandleKind.FieldDefinition:
                var field = _reader.GetFieldDefinition((FieldDefinitionHandle)handle);
                return field.DecodeSignature(_signatures, null).Insert(0, _names.Of(field.GetDeclaringType()));
            case HandleKind.MethodDefinition:
                var method = _reader.GetMethodDefinition((MethodDefinitionHandle)handle);
                return SignatureTypes.Flatten(method.DecodeSignature(_signatures, null)).Insert(0, _names.Of(method.GetDeclaringType()));
            case HandleKind.MemberReference:
                var reference = _reader.GetMemberReference((MemberReferenceHandle)handle);
                var signature = reference.GetKind() == MemberReferenceKind.Method
                    ? SignatureTypes.Flatten(reference.DecodeMethodSignature(_signatures, null))
                    : reference.DecodeFieldSignature(_signatures, null);
                return TypesOf(reference.Parent).AddRange(signature);
            case HandleKind.MethodSpecification:
                var specification = _reader.GetMethodSpecification((MethodSpecificationHandle)handle);
                var instantiation = specification.DecodeSignature(_signatures, null);
                return TypesOf(specification.Method).AddRange(instantiation.SelectMany(argument => argument));
            case HandleKind.StandaloneSignature:
                var standalone = _reader.GetStandaloneSignature((StandaloneSignatureHandle)handle);
                return standalone.GetKind() == StandaloneSignatureKind.Method
                    ? SignatureTypes.Flatten(standalone.DecodeMethodSignature(_signatures, null))
                    : [.. standalone.DecodeLocalSignature(_signatures, null).SelectMany(local => local)];
            default:
                // Module references (a vararg parent) and the like name no type.
                return [];
        }
    }

    private ImmutableArray<TypeName> DeclaringTypeOf(EntityHandle constructor) => constructor.Kind switch
    {
        HandleKind.MethodDefinition => [_names.Of(_reader.GetMethodDefinition((MethodDefinitionHandle)constructor).GetDeclaringType())],
        HandleKind.MemberReference => TypesOf(_reader.GetMemberReference((MemberReferenceHandle)constructor).Parent),
        _ => [],
    };

    private void Add(string member, ImmutableArray<TypeName> types)
    {
        foreach (var type in types)
        {
            Add(member, type);
        }
    }

    private void Add(string member, TypeName type)
    {
        if (type != _from)
        {
            _references.Add(new CodeReference(_from, member, type));
        }
    }
}
