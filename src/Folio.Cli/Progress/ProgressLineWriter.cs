using System.Text;

namespace Folio.Cli.Progress;

/// <summary>
/// A <see cref="TextWriter"/> whose whole lines become result lines of a progress display, so code
/// that prints to a writer (a table, a figure) can run under bars on a terminal without tearing them.
/// </summary>
public sealed class ProgressLineWriter(IProgressDisplay progress) : TextWriter
{
    private readonly StringBuilder _line = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        if (value == '\n')
        {
            progress.WriteLine(_line.ToString());
            _line.Clear();
        }
        else if (value != '\r')
        {
            _line.Append(value);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _line.Length > 0)
        {
            progress.WriteLine(_line.ToString());
            _line.Clear();
        }

        base.Dispose(disposing);
    }
}
