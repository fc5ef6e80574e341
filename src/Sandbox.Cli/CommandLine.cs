using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Lifecycle;

namespace Sandbox.Cli;

/// <summary>Entry point: global options, then one command. Every error becomes one line on stderr and exit 125.</summary>
public static partial class CommandLine
{
    public const string Usage = """
        Usage: sandbox [--root DIR] [--debug] [--libvirt-uri URI] COMMAND [ARGS...]

        Run the same image as a Linux-namespace container or as a micro-VM.

        Commands:
          run [OPTIONS] IMAGE [CMD...]   Run a command in a new sandbox (--vm for a micro-VM; -d to detach)
          pull [OPTIONS] REF             Pull an image from a registry (docker's names: busybox = docker.io/library/busybox:latest)
          push [OPTIONS] SRC [DST]       Push an image to a registry
          login [-u USER] [--password-stdin] HOST
                                         Log in to a registry (stored in ~/.docker/config.json or $REGISTRY_AUTH_FILE)
          logout HOST                    Remove a registry login
          create [OPTIONS] IMAGE [CMD...]
                                         Create a sandbox without starting it (run's options)
          start [-a] [-i] SANDBOX...     Start created or stopped sandboxes
          ps [-a] [-q] [--no-trunc] [--format json] [--filter K=V]
                                         List sandboxes
          logs [-f] [--tail N] [-t] SANDBOX
                                         Show a sandbox's output
          attach SANDBOX                 Attach to a detached sandbox's output and input
          exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] SANDBOX CMD...
                                         Run a command in a running sandbox
          stop [-t SECONDS] SANDBOX...   SIGTERM, then SIGKILL after the timeout
          kill [-s SIGNAL] SANDBOX...    Send a signal (default KILL)
          pause SANDBOX...               Freeze every process of a sandbox
          unpause SANDBOX...             Thaw a paused sandbox
          wait SANDBOX...                Wait for sandboxes to stop; print their exit codes
          rm [-f] [-v] SANDBOX...        Remove sandboxes (-f: running ones too)
          inspect SANDBOX...             Show sandboxes' state as JSON
          cp SRC DEST                    Copy files between a sandbox (ID:/path) and the host
          stats [--no-stream] [--format json] [SANDBOX...]
                                         Show running sandboxes' memory and CPU
          images [--format json] [-q]    List images
          image import PATH[:REF] [--name NAME[:TAG]]
                                         Import an OCI layout/archive, docker-save archive, rootfs tar or directory
          image inspect NAME             Show an image's digest, layers, config, size and rootfs path
          image rm NAME...               Remove images
          image tag SRC DST              Give an image another name
          image save REF -o FILE [--format oci-archive|docker-archive]
                                         Write an image as an archive that skopeo, podman and docker load
          network create NAME [--subnet CIDR] [--internal]
                                         Create a bridge network (NAT to the outside unless --internal)
          network ls                     List networks
          network rm NAME...             Remove networks (refused while a sandbox uses one)
          pool fill IMAGE [--count N] [--memory M] [--cpus C] [--running] [--refill]
                                         Boot micro-VMs into the warm pool (run --vm takes a matching one);
                                         --refill keeps N in the background (within the pool's memory budget)
          pool ls [--format json]        List warm pool members, their shape, age and memory
          pool drain [IMAGE]             Destroy warm pool members (of IMAGE, or all)
          info                           Show what this host can run
          prune                          Remove stopped sandboxes and what crashed ones left behind
          bench [IMAGE] [OPTIONS]        Measure both backends and their peers (runc, plain qemu)

        Global options:
          --root DIR          State directory (default /var/lib/sandbox, or $SANDBOX_ROOT)
          --debug             Show the full error chain and debug logs
          --libvirt-uri URI   libvirt connection (default qemu:///system, or $SANDBOX_LIBVIRT_URI)
          -v, --version       Print the version (also: sandbox version)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        bool debug = args.Contains("--debug") || args.Contains("-D");
        using var cts = new CancellationTokenSource();
        try
        {
            var parsed = ParsedArgs.Parse(args, GlobalOptions.Specs, stopAtPositional: true);
            if (parsed.Has("--version")) return PrintVersion();
            if (parsed.Has("--help") || parsed.Positionals.Count == 0)
            {
                Console.Out.WriteLine(Usage);
                return parsed.Has("--help") ? 0 : 125;
            }
            var minimum = debug ? LogLevel.Debug : LogLevel.Warning;
            using var loggerFactory = new DeferredLoggerFactory(() => LoggerFactory.Create(b =>
            {
                b.SetMinimumLevel(minimum);
                b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
                 .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            }), minimum);
            var global = new GlobalOptions
            {
                Paths = SandboxPaths.FromEnvironment(parsed.Value("--root")),
                Debug = debug,
                LibvirtUri = parsed.Value("--libvirt-uri")
                    ?? (Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") is { Length: > 0 } uri ? uri : "qemu:///system"),
                LoggerFactory = loggerFactory,
            };
            var command = parsed.Positionals[0];
            var rest = parsed.Positionals.Skip(1).ToArray();
            return await DispatchAsync(global, command, rest, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ReportError(e, debug);
        }
    }

    private static Task<int> DispatchAsync(GlobalOptions global, string command, string[] args, CancellationToken ct) => command switch
    {
        "run" => RunCommand.ExecuteAsync(global, args, ct),
        "pull" => PullCommand.ExecuteAsync(global, args, ct),
        "push" => PushCommand.ExecuteAsync(global, args, ct),
        "login" => LoginCommand.LoginAsync(global, args, ct),
        "logout" => LoginCommand.LogoutAsync(global, args, ct),
        "images" => ImageCommands.ListAsync(global, args, ct),
        "image" => ImageCommands.ExecuteAsync(global, args, ct),
        "info" => InfoCommand.ExecuteAsync(global, args, ct),
        "network" => NetworkCommands.ExecuteAsync(global, args, ct),
        "prune" => PruneCommand.ExecuteAsync(global, args, ct),
        "create" => LifecycleCommands.CreateAsync(global, args, ct),
        "start" => LifecycleCommands.StartAsync(global, args, ct),
        "ps" => LifecycleCommands.PsAsync(global, args, ct),
        "logs" => LifecycleCommands.LogsAsync(global, args, ct),
        "attach" => AttachCommand.AttachCommandAsync(global, args, ct),
        "exec" => AttachCommand.ExecAsync(global, args, ct),
        "stop" => LifecycleCommands.StopAsync(global, args, ct),
        "kill" => LifecycleCommands.KillAsync(global, args, ct),
        "pause" => LifecycleCommands.PauseAsync(global, args, pause: true, ct),
        "unpause" => LifecycleCommands.PauseAsync(global, args, pause: false, ct),
        "wait" => LifecycleCommands.WaitAsync(global, args, ct),
        "rm" => LifecycleCommands.RmAsync(global, args, ct),
        "inspect" => LifecycleCommands.InspectAsync(global, args, ct),
        "cp" => CpCommand.ExecuteAsync(global, args, ct),
        "stats" => StatsCommand.ExecuteAsync(global, args, ct),
        "pool" => PoolCommands.ExecuteAsync(global, args, ct),
        OwnerLauncher.Command => OwnerCommand.ExecuteAsync(global, args, ct),
        PoolMemberLauncher.Command => PoolCommands.HoldAsync(global, args, ct),
        PoolMemberLauncher.RefillCommand => PoolCommands.RefillAsync(global, args, ct),
        "bench" => BenchCommand.ExecuteAsync(global, args, ct),
        "help" => Task.FromResult(PrintUsage()),
        "version" => Task.FromResult(PrintVersion()),
        _ => throw new UsageException($"unknown command '{command}' (see 'sandbox --help')"),
    };

    /// <summary>The product's version (not MSBuild's Version property: set in Directory.Build.props it made the NativeAOT publish fail with NETSDK1207).</summary>
    public const string ProductVersion = "0.2.0";

    /// <summary><c>sandbox --version</c> / <c>sandbox version</c>, as docker prints it: the CLI's version and the OCI runtime spec it speaks.</summary>
    private static int PrintVersion()
    {
        Console.Out.WriteLine($"sandbox version {ProductVersion}");
        return 0;
    }

    private static int PrintUsage()
    {
        Console.Out.WriteLine(Usage);
        return 0;
    }

    /// <summary>One clear line (the chain with --debug); the exit code says what kind of failure it was.</summary>
    public static int ReportError(Exception e, bool debug)
    {
        if (e is LifecycleCommands.HelpRequested help)
        {
            Console.Out.WriteLine(help.Message);
            return 0;
        }
        if (e is OperationCanceledException)
        {
            Console.Error.WriteLine("sandbox: interrupted");
            return 130;
        }
        Console.Error.WriteLine("sandbox: " + OneLine(e));
        if (debug)
        {
            for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
                Console.Error.WriteLine("  caused by: " + inner.GetType().Name + ": " + inner.Message);
            Console.Error.WriteLine(e.ToString());
        }
        return e is SandboxException se ? se.ExitCode : 125;
    }

    /// <summary>The message, with the innermost cause appended when it adds something.</summary>
    public static string OneLine(Exception e)
    {
        var message = e.Message.ReplaceLineEndings(" ");
        var root = e;
        while (root.InnerException is not null) root = root.InnerException;
        if (!ReferenceEquals(root, e) && !message.Contains(root.Message, StringComparison.Ordinal))
            message += ": " + root.Message.ReplaceLineEndings(" ");
        return message;
    }
}
