using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.Cli;

/// <summary>Options that come before the command: <c>sandbox [--root DIR] [--debug] [--libvirt-uri URI] COMMAND ...</c>.</summary>
public sealed class GlobalOptions
{
    public static readonly OptionSpec[] Specs =
    [
        new(true, "--root"),
        new(false, "--debug", "-D"),
        new(true, "--libvirt-uri"),
        new(false, "--help", "-h"),
        new(false, "--version", "-v"),
    ];

    public required SandboxPaths Paths { get; init; }
    public bool Debug { get; init; }
    public string LibvirtUri { get; init; } = "qemu:///system";
    public required ILoggerFactory LoggerFactory { get; init; }
}
