namespace Folio.Architecture.Tests.Layers;

/// <summary>
/// The one-way doors of the design's map (shared DESIGN.md, "The map"): for every project under
/// src/, the Folio projects it may reference directly. Anything lower may be reached through
/// them. Every project under src/ must be listed here; a new one is added with the projects it
/// may use, and the tests then hold it to that.
/// </summary>
public static class LayerMap
{
    public const string Contracts = "Folio.Contracts";
    public const string Text = "Folio.Text";
    public const string Models = "Folio.Models";
    public const string Engine = "Folio.Engine";
    public const string Cpu = "Folio.Cpu";
    public const string Cuda = "Folio.Cuda";
    public const string ModelTools = "Folio.ModelTools";
    public const string Client = "Folio.Client";
    public const string Worker = "Folio.Worker";
    public const string Gateway = "Folio.Gateway";
    public const string Cli = "Folio.Cli";

    /// <summary>Project name -> the Folio projects it may reference directly.</summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> Allowed { get; } = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal)
    {
        // The wire contract and the text layer sit at the bottom and know no other Folio project.
        [Contracts] = Set(),
        [Text] = Set(),
        [Models] = Set(Text),
        [Engine] = Set(Models, Text, Contracts),

        // Backends plug into the engine's runner seam; neither knows the other.
        [Cpu] = Set(Engine, Models, Text, Contracts),
        [Cuda] = Set(Engine, Models, Text, Contracts),

        // Authoring writes the formats the loaders read, nothing more.
        [ModelTools] = Set(Models, Text),

        // The SDK speaks the wire contract only: it ships to users without the engine.
        [Client] = Set(Contracts),

        // The hosts on top. No src project references Worker, Gateway or Cli (tests may).
        [Worker] = Set(Contracts, Text, Models, Engine, Cpu, Cuda),
        [Gateway] = Set(Contracts, Client, Text),
        [Cli] = Set(Contracts, Text, Models, Engine, Cpu, Cuda, ModelTools, Client),
    };

    /// <summary>
    /// Projects that may know RabbitMQ, Redis or HTTP. Everything else is "below": it must not
    /// reference RabbitMQ.Client, StackExchange.Redis or ASP.NET, in its project file or its code.
    /// </summary>
    public static IReadOnlySet<string> Hosts { get; } = Set(Worker, Gateway, Client, Cli);

    /// <summary>What a project may reach, directly or through the projects it may reference.</summary>
    public static IReadOnlySet<string> Reachable(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(Allowed[project]);
        while (pending.Count > 0)
        {
            var next = pending.Pop();
            if (seen.Add(next) && Allowed.TryGetValue(next, out var below))
            {
                foreach (var lower in below)
                {
                    pending.Push(lower);
                }
            }
        }

        return seen;
    }

    private static SortedSet<string> Set(params string[] projects) => new(projects, StringComparer.Ordinal);
}
