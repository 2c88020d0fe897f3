namespace Folio.Models;

/// <summary>
/// A model file or folder cannot be used. The message always names the file, and where it applies
/// the tensor or key and what was expected, so that a user can fix the input.
/// </summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string message) : base(message) { }
    public ModelFormatException(string message, Exception inner) : base(message, inner) { }
}
