using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// A redis-server of the test's own (the Debian binary the shared one runs), on a free loopback port
/// in a private folder, so a fault test can fill, restart or kill it without touching the Redis other
/// tests share. Without persistence unless the arguments ask for it; stopped and deleted on dispose.
/// </summary>
internal sealed class OwnRedis : IAsyncDisposable
{
    private readonly string[] _arguments;
    private Process? _process;

    private OwnRedis(int port, string folder, string[] arguments)
    {
        Port = port;
        Folder = folder;
        _arguments = arguments;
    }

    public int Port { get; }

    public string Folder { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server; <paramref name="arguments"/> are extra redis-server options ("--maxmemory", "2mb", ...).</summary>
    public static async Task<OwnRedis> StartAsync(params string[] arguments)
    {
        string folder = Path.Combine(Path.GetTempPath(), "folio-own-redis-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var redis = new OwnRedis(FreePort(), folder, arguments);
        await redis.StartProcessAsync();
        return redis;
    }

    /// <summary>SIGKILL, then a fresh start on the same port: with no persistence, every key is gone.</summary>
    public async Task RestartEmptyAsync()
    {
        Kill();
        await StartProcessAsync();
    }

    /// <summary>A short-lived connection for one administrative call (CONFIG SET, INFO, filling).</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = ConfigurationOptions.Parse(Configuration);
        options.AbortOnConnectFail = false;
        options.AllowAdmin = true;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    private async Task StartProcessAsync()
    {
        var psi = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Folder,
        };
        foreach (var a in (string[])["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", Folder, "--save", string.Empty, "--appendonly", "no", "--daemonize", "no", .. _arguments])
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await AnswersAsync())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"redis-server on port {Port} did not start (is redis-server installed? tests/servers.sh install)");
            }

            await Task.Delay(20);
        }
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[64];
            int n = await stream.ReadAsync(buffer);
            // +PONG, or -NOAUTH from a server that wants a password: either way it is up.
            return n > 0 && buffer[0] is (byte)'+' or (byte)'-';
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void Kill()
    {
        if (_process is { } p)
        {
            if (!p.HasExited)
            {
                p.Kill();
            }

            p.WaitForExit(10_000);
            p.Dispose();
            _process = null;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: the temp folder is cleaned up by the system.
        }

        return ValueTask.CompletedTask;
    }
}
