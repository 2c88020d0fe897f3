namespace Folio.Engine.Constraints;

/// <summary>
/// A constraint (JSON schema, regex, choice list or grammar) that cannot be compiled. The message
/// names the keyword, rule or position and says what to change; the contract layer reports it as an
/// <c>invalid_request</c>.
/// </summary>
public sealed class ConstraintException : Exception
{
    public ConstraintException()
    {
    }

    public ConstraintException(string message)
        : base(message)
    {
    }

    public ConstraintException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
