using System.Collections;
using System.Reflection;

namespace Folio.Worker.Tests.Deployment;

/// <summary>
/// Every configuration key the options classes bind, read from the classes themselves (each has a
/// <c>public const string Section</c>), so that a key renamed in code makes a stale deployment file
/// fail its test. Keys compare case-insensitively, as .NET configuration does; a list element's
/// index is "#".
/// </summary>
internal sealed class ConfigurationKeys
{
    private readonly HashSet<string> _keys = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _sections = new(StringComparer.OrdinalIgnoreCase);

    public static ConfigurationKeys FromAssemblies(params Assembly[] assemblies)
    {
        var keys = new ConfigurationKeys();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field && field.GetRawConstantValue() is string section)
            {
                keys.AddSection(section);
                keys.AddObject(section, type, depth: 0);
            }
        }

        return keys;
    }

    public int Count => _keys.Count;

    /// <summary>Whether <paramref name="path"/> ("Folio:RabbitMq:Uri", "Folio:Gateway:ApiKeys:0:Name") is a key.</summary>
    public bool IsKey(string path) => _keys.Contains(Normalize(path));

    /// <summary>Whether <paramref name="path"/> is a key or a section that holds keys ("Folio:Gateway:ApiKeys").</summary>
    public bool IsKeyOrSection(string path) => IsKey(path) || _sections.Contains(Normalize(path));

    private static string Normalize(string path) =>
        string.Join(':', path.Split(':').Select(s => s.Length > 0 && s.All(char.IsAsciiDigit) ? "#" : s));

    private void AddSection(string path)
    {
        for (int colon = path.IndexOf(':'); colon > 0; colon = path.IndexOf(':', colon + 1))
        {
            _sections.Add(path[..colon]);
        }

        _sections.Add(path);
    }

    private void AddObject(string path, Type type, int depth)
    {
        if (depth > 8)
        {
            throw new InvalidOperationException("options nested deeper than 8 levels at " + path);
        }

        // What the binder sets: public instance properties with a public setter (computed ones such
        // as RabbitMqOptions.ErrorQueueName are not keys).
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
            {
                AddValue(path + ":" + p.Name, p.PropertyType, depth + 1);
            }
        }
    }

    private void AddValue(string path, Type type, int depth)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsScalar(type))
        {
            _keys.Add(path);
            return;
        }

        AddSection(path);
        if (ElementType(type) is { } element)
        {
            AddValue(path + ":#", element, depth);
            return;
        }

        AddObject(path, type, depth);
    }

    private static bool IsScalar(Type t) =>
        t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(Uri);

    private static Type? ElementType(Type t)
    {
        if (t.IsArray)
        {
            return t.GetElementType();
        }

        return typeof(IEnumerable).IsAssignableFrom(t) && t.IsGenericType ? t.GetGenericArguments()[0] : null;
    }
}
