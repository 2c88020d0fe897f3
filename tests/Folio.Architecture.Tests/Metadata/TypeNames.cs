using System.Reflection.Metadata;

namespace Folio.Architecture.Tests.Metadata;

/// <summary>Names the types that one assembly's metadata defines or refers to.</summary>
internal sealed class TypeNames(MetadataReader reader)
{
    public string AssemblyName { get; } = reader.GetString(reader.GetAssemblyDefinition().Name);

    public TypeName Of(TypeDefinitionHandle handle)
    {
        var type = reader.GetTypeDefinition(handle);
        string name = reader.GetString(type.Name);
        if (type.IsNested)
        {
            var outer = Of(type.GetDeclaringType());
            return outer with { Name = outer.Name + "+" + name };
        }

        return new TypeName(AssemblyName, reader.GetString(type.Namespace), name);
    }

    public TypeName Of(TypeReferenceHandle handle)
    {
        var type = reader.GetTypeReference(handle);
        string name = reader.GetString(type.Name);
        var scope = type.ResolutionScope;
        switch (scope.Kind)
        {
            case HandleKind.TypeReference:
                var outer = Of((TypeReferenceHandle)scope);
                return outer with { Name = outer.Name + "+" + name };
            case HandleKind.AssemblyReference:
                var assembly = reader.GetAssemblyReference((AssemblyReferenceHandle)scope);
                return new TypeName(reader.GetString(assembly.Name), reader.GetString(type.Namespace), name);
            default:
                // The module itself or one of its module references: a type of this assembly.
                return new TypeName(AssemblyName, reader.GetString(type.Namespace), name);
        }
    }

    /// <summary>
    /// A type named in a custom attribute's serialized form ("Ns.Outer+Inner, Assembly, Version=...").
    /// Without an assembly part the type lives in this assembly or the core library; the caller
    /// only cares about Folio types, which are always in this assembly then.
    /// </summary>
    public TypeName OfSerialized(string serializedName)
    {
        string typePart = serializedName;
        string assembly = AssemblyName;
        int comma = FirstCommaOutsideBrackets(serializedName);
        if (comma >= 0)
        {
            typePart = serializedName[..comma].Trim();
            assembly = serializedName[(comma + 1)..].Split(',')[0].Trim();
        }

        int bracket = typePart.IndexOf('[', StringComparison.Ordinal);
        if (bracket >= 0)
        {
            typePart = typePart[..bracket];
        }

        int outerEnd = typePart.IndexOf('+', StringComparison.Ordinal);
        string outer = outerEnd >= 0 ? typePart[..outerEnd] : typePart;
        int dot = outer.LastIndexOf('.');
        return dot < 0
            ? new TypeName(assembly, "", typePart)
            : new TypeName(assembly, typePart[..dot], typePart[(dot + 1)..]);
    }

    private static int FirstCommaOutsideBrackets(string text)
    {
        int depth = 0;
        for (int i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '[':
                    depth++;
                    break;
                case ']':
                    depth--;
                    break;
                case ',' when depth == 0:
                    return i;
            }
        }

        return -1;
    }
}
