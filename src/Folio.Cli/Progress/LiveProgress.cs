using Spectre.Console;

namespace Folio.Cli.Progress;

/// <summary>
/// Progress bars on a terminal with Spectre.Console. Result lines are written through the same
/// console, so they appear above the bars instead of being torn by the redraw. Used only when
/// both stdout and stderr are a terminal (<see cref="ProgressStyles.Detect"/>).
/// </summary>
public sealed class LiveProgress : IProgressDisplay
{
    private readonly IAnsiConsole _console;
    private readonly ProgressContext _context;

    private LiveProgress(IAnsiConsole console, ProgressContext context)
    {
        _console = console;
        _context = context;
    }

    public static T Run<T>(TextWriter terminal, Func<IProgressDisplay, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var console = Console(terminal);
        return Bars(console).Start(ctx => body(new LiveProgress(console, ctx)));
    }

    public static Task<T> RunAsync<T>(TextWriter terminal, Func<IProgressDisplay, Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var console = Console(terminal);
        return Bars(console).StartAsync(ctx => body(new LiveProgress(console, ctx)));
    }

    public IProgressTask AddTask(string description, int total)
    {
        var task = _context.AddTask(Markup.Escape(description), autoStart: true, maxValue: Math.Max(1, total));
        task.IsIndeterminate = total <= 0;
        return new LiveTask(task);
    }

    public void WriteLine(string line) => _console.WriteLine(line);

    public void Note(string line) => _console.MarkupLine("[grey]" + Markup.Escape(line) + "[/]");

    /// <summary>A console on <paramref name="terminal"/> that Spectre may draw on (the caller checked it is one).</summary>
    internal static IAnsiConsole Console(TextWriter terminal) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(terminal),
        Ansi = AnsiSupport.Yes,
        ColorSystem = ColorSystemSupport.Detect,
        Interactive = InteractionSupport.Yes,
    });

    private static Spectre.Console.Progress Bars(IAnsiConsole console) => console.Progress()
        .AutoClear(false)
        .HideCompleted(false)
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn());

    private sealed class LiveTask(ProgressTask task) : IProgressTask
    {
        public void Advance(int steps = 1, string? description = null)
        {
            if (description is not null)
            {
                task.Description = Markup.Escape(description);
            }

            task.Increment(steps);
        }

        public void Complete()
        {
            if (task.IsIndeterminate)
            {
                task.IsIndeterminate = false;
            }

            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
