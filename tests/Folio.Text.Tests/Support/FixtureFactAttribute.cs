namespace Folio.Text.Tests.Support;

/// <summary>
/// A test that needs ../shared/fixtures. Outside CI it is skipped with the fixtures README's reason
/// when they are missing; under CI=true it runs and fails, since CI always has them.
/// </summary>
public sealed class FixtureFactAttribute : FactAttribute
{
    public FixtureFactAttribute()
    {
        if (!RepositoryPaths.IsCi && RepositoryPaths.Fixtures is null)
        {
            Skip = "../shared/fixtures not found";
        }
    }
}

/// <summary>A theory that needs ../shared/fixtures (see <see cref="FixtureFactAttribute"/>).</summary>
public sealed class FixtureTheoryAttribute : TheoryAttribute
{
    public FixtureTheoryAttribute()
    {
        if (!RepositoryPaths.IsCi && RepositoryPaths.Fixtures is null)
        {
            Skip = "../shared/fixtures not found";
        }
    }
}
