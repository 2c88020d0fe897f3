namespace Folio.Cli.Progress;

/// <summary>
/// What a long-running command sees of its progress display: tasks with a count of steps, and its
/// result lines. On a terminal the tasks are bars (Spectre.Console); redirected, they are plain
/// lines on stderr and the results go to stdout exactly as written.
/// </summary>
public interface IProgressDisplay
{
    /// <summary>Starts a task of <paramref name="total"/> steps; 0 for a task whose length is unknown (a spinner).</summary>
    IProgressTask AddTask(string description, int total);

    /// <summary>A result line (a table row, a figure): stdout.</summary>
    void WriteLine(string line);

    /// <summary>A diagnostic line (per-run details, a child process's errors): stderr when redirected.</summary>
    void Note(string line);
}

/// <summary>One task of a <see cref="IProgressDisplay"/>.</summary>
public interface IProgressTask
{
    /// <summary>One step done (or <paramref name="steps"/>), optionally with a new description of what runs now.</summary>
    void Advance(int steps = 1, string? description = null);

    /// <summary>Marks the task finished.</summary>
    void Complete();
}
