using Folio.Architecture.Tests.Graph;
using Folio.Architecture.Tests.Metadata;
using Folio.Architecture.Tests.Samples.Lower;
using Folio.Architecture.Tests.Samples.Upper;

namespace Folio.Architecture.Tests;

/// <summary>
/// The reader and the graph builder on this assembly's own sample types (Samples/), where every
/// kind of reference is known in advance: if the reader missed one, the namespace test over the
/// real assemblies could pass with a back-edge in the code.
/// </summary>
public sealed class ReferenceReaderTests
{
    private const string SamplesNamespace = "Folio.Architecture.Tests.Samples";

    private static readonly Lazy<AssemblyReferences> ThisAssembly =
        new(() => AssemblyReferences.Read(typeof(ReferenceReaderTests).Assembly.Location));

    public static TheoryData<string, string, string> SignatureReferences => new()
    {
        { nameof(SignatureUses), "(base type)", nameof(BaseTarget) },
        { nameof(SignatureUses), "(interface)", nameof(IInterfaceTarget) },
        { nameof(SignatureUses), nameof(SignatureUses.Field), nameof(FieldTarget) },
        { nameof(SignatureUses), nameof(SignatureUses.Property), nameof(PropertyTarget) },
        { nameof(SignatureUses), nameof(SignatureUses.GenericField), nameof(GenericArgumentTarget) },
        { nameof(SignatureUses), nameof(SignatureUses.Take), nameof(ParameterTarget) },
        { nameof(SignatureUses), nameof(SignatureUses.Give), nameof(ReturnTarget) },
        { nameof(SignatureUses), nameof(SignatureUses.Constrained), nameof(IConstraintTarget) },
        { nameof(SignatureUses), nameof(SignatureUses.Attributed), nameof(TargetAttribute) },
        { nameof(SignatureUses), nameof(SignatureUses.TypeofArgument), nameof(TypeofArgumentTarget) },
    };

    public static TheoryData<string, string, string> BodyReferences => new()
    {
        { nameof(BodyUses), nameof(BodyUses.Construct), nameof(ConstructedTarget) },
        { nameof(BodyUses), nameof(BodyUses.CallOnGenericType), "GenericHolder`1" },
        { nameof(BodyUses), nameof(BodyUses.CallOnGenericType), nameof(GenericHolderArgument) },
        { nameof(BodyUses), nameof(BodyUses.InstantiateMethod), nameof(MethodInstantiation) },
        { nameof(BodyUses), nameof(BodyUses.InstantiateMethod), nameof(MethodArgumentTarget) },
        { nameof(BodyUses), nameof(BodyUses.Token), nameof(TokenTarget) },
        { nameof(BodyUses), nameof(BodyUses.Cast), nameof(CastTarget) },
        { nameof(BodyUses), nameof(BodyUses.ReadStaticField), nameof(StaticFieldTarget) },
        { nameof(BodyUses), nameof(BodyUses.Catch), nameof(CatchTargetException) },
    };

    [Theory]
    [MemberData(nameof(SignatureReferences))]
    public void Finds_a_type_used_in_a_signature_or_attribute(string fromType, string member, string toType) =>
        AssertFound(fromType, member, toType);

    [Theory]
    [MemberData(nameof(BodyReferences))]
    public void Finds_a_type_used_only_inside_a_method_body(string fromType, string member, string toType) =>
        AssertFound(fromType, member, toType);

    [Fact]
    public void A_lambda_body_counts_for_the_namespace_of_the_type_that_wrote_it()
    {
        var fromLambda = ThisAssembly.Value.References
            .Where(r => r.To.Name == nameof(LambdaTarget) && r.From.Name.StartsWith(nameof(BodyUses) + "+", StringComparison.Ordinal))
            .ToList();

        Assert.NotEmpty(fromLambda);
        Assert.All(fromLambda, r => Assert.Equal(typeof(BodyUses).Namespace, r.From.Namespace));
    }

    [Fact]
    public void The_sample_assembly_is_read_without_gaps() =>
        Assert.Empty(ThisAssembly.Value.Problems);

    [Fact]
    public void The_namespace_graph_finds_the_sample_cycle_with_an_example_per_edge()
    {
        var graph = NamespaceGraph.Build([ThisAssembly.Value], ns => ns.StartsWith(SamplesNamespace + ".", StringComparison.Ordinal));
        string lower = typeof(BackTarget).Namespace!;
        string upper = typeof(BackEdge).Namespace!;

        var cycle = Assert.Single(graph.Cycles());

        Assert.Equal([lower, upper, lower], cycle);
        Assert.Equal($"{typeof(BackEdge).FullName}.{nameof(BackEdge.Close)} -> {typeof(BackTarget).FullName}", graph.Evidence(upper, lower).Example);
        Assert.Equal(1, graph.Evidence(upper, lower).Count);
        Assert.True(graph.Evidence(lower, upper).Count > 10, "every sample use of Upper counts toward the forward edge");
        Assert.Contains($"{upper} -> {lower} (1 reference), e.g. {typeof(BackEdge).FullName}.{nameof(BackEdge.Close)}", graph.Describe(cycle), StringComparison.Ordinal);
    }

    private static void AssertFound(string fromType, string member, string toType)
    {
        var found = ThisAssembly.Value.References
            .Where(r => r.From.Name == fromType && r.Member == member && r.To.Name == toType)
            .ToList();

        var reference = Assert.Single(found);
        Assert.Equal(typeof(BackTarget).Namespace, reference.From.Namespace);
        Assert.Equal(typeof(BackEdge).Namespace, reference.To.Namespace);
        Assert.Equal(typeof(BackEdge).Assembly.GetName().Name, reference.To.Assembly);
    }
}
