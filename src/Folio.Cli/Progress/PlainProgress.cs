using System.Diagnostics;
using System.Globalization;

namespace Folio.Cli.Progress;

/// <summary>
/// Progress as plain lines on stderr, for pipes and log files: a line when a task starts, at most
/// one every <see cref="ReportInterval"/> while it runs, and one when it ends. Results go to stdout
/// unchanged, so a redirected command prints exactly what it printed before it had progress.
/// </summary>
public sealed class PlainProgress : IProgressDisplay
{
    /// <summary>Long enough that a log stays readable, short enough to show a run is alive.</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private readonly string _title;
    private readonly TextWriter _out;
    private readonly TextWriter _error;
    private readonly Lock _lock = new();

    private PlainProgress(string title, TextWriter output, TextWriter error)
    {
        _title = title;
        _out = output;
        _error = error;
    }

    public static T Run<T>(string title, TextWriter output, TextWriter error, Func<IProgressDisplay, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return body(new PlainProgress(title, output, error));
    }

    public static Task<T> RunAsync<T>(string title, TextWriter output, TextWriter error, Func<IProgressDisplay, Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return body(new PlainProgress(title, output, error));
    }

    public IProgressTask AddTask(string description, int total)
    {
        Note(total > 0 ? $"{_title}: {description}: 0/{total}" : $"{_title}: {description}...");
        return new PlainTask(this, description, total);
    }

    public void WriteLine(string line)
    {
        lock (_lock)
        {
            _out.WriteLine(line);
            _out.Flush();
        }
    }

    public void Note(string line)
    {
        lock (_lock)
        {
            _error.WriteLine(line);
            _error.Flush();
        }
    }

    private sealed class PlainTask(PlainProgress owner, string description, int total) : IProgressTask
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private long _lastReport = Stopwatch.GetTimestamp();
        private string _description = description;
        private int _done;
        private bool _completed;

        public void Advance(int steps = 1, string? description = null)
        {
            _done += steps;
            _description = description ?? _description;
            if (_done < total && Stopwatch.GetElapsedTime(_lastReport) >= ReportInterval)
            {
                _lastReport = Stopwatch.GetTimestamp();
                owner.Note($"{owner._title}: {_description}: {_done}/{total}");
            }
        }

        public void Complete()
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            double seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            owner.Note(string.Create(CultureInfo.InvariantCulture, $"{owner._title}: {_description}: done in {seconds:F1} s"));
        }
    }
}
