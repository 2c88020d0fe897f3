using Folio.Worker.Hosting;
using Folio.Testing;
using Microsoft.Extensions.Configuration;

namespace Folio.Worker.Tests;

/// <summary>Where the worker reads its configuration: next to the binary, the working directory, an explicit file; never a parent checkout.</summary>
public sealed class WorkerConfigurationTests
{
    private static IConfiguration Build(string baseDirectory, string workingDirectory, params string[] args)
    {
        var manager = new ConfigurationManager();
        WorkerConfiguration.Apply(manager, args, baseDirectory, workingDirectory);
        return manager;
    }

    private static void Settings(string folder, string model) =>
        File.WriteAllText(Path.Combine(folder, "appsettings.json"), "{\"Folio\": {\"Model\": {\"Path\": \"" + model + "\"}}}");

    [Fact]
    public void A_worker_started_inside_a_checkout_does_not_read_the_checkouts_settings()
    {
        using var dir = new TempDir();
        string checkout = Path.Combine(dir.Path, "checkout");
        string inside = Path.Combine(checkout, "src", "Folio.Worker");
        string binary = Path.Combine(dir.Path, "bin");
        Directory.CreateDirectory(inside);
        Directory.CreateDirectory(binary);
        File.WriteAllText(Path.Combine(checkout, "Worker.sln"), string.Empty);
        Settings(checkout, "developer-model");
        var config = Build(binary, inside);
        Assert.Null(config["Folio:Model:Path"]);
    }

    [Fact]
    public void Working_directory_settings_override_those_next_to_the_binary_and_an_explicit_file_overrides_both()
    {
        using var dir = new TempDir();
        string binary = Path.Combine(dir.Path, "bin");
        string work = Path.Combine(dir.Path, "work");
        Directory.CreateDirectory(binary);
        Directory.CreateDirectory(work);
        Settings(binary, "from-binary");
        Assert.Equal("from-binary", Build(binary, work)["Folio:Model:Path"]);
        Settings(work, "from-working-directory");
        Assert.Equal("from-working-directory", Build(binary, work)["Folio:Model:Path"]);
        string explicitFile = Path.Combine(dir.Path, "prod.json");
        File.WriteAllText(explicitFile, """{"Folio": {"Model": {"Path": "from-explicit"}}}""");
        Assert.Equal("from-explicit", Build(binary, work, "--config", explicitFile)["Folio:Model:Path"]);
        Assert.Equal("from-command-line", Build(binary, work, "--config", explicitFile, "--Folio:Model:Path=from-command-line")["Folio:Model:Path"]);
    }

    [Fact]
    public void A_missing_explicit_file_is_an_error_naming_it()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => Build(dir.Path, dir.Path, "--config", "nope.json"));
        Assert.Contains("nope.json", e.Message, StringComparison.Ordinal);
    }
}
