using Sandbox.Cli;

// One NativeAOT binary, three names (docs/oci-runtime.md): sandbox-oci and sandbox-oci-vm are links to it.
var name = Path.GetFileName(Environment.GetCommandLineArgs()[0]);
if (name is "sandbox-oci" or "sandbox-oci-vm")
{
    // The detached exec's relay: --root ROOT __oci-exec ID SPEC.
    if (args.Length == 5 && args[2] == Sandbox.Cli.Oci.OciRuntime.ExecOwnerCommand)
        return await Sandbox.Cli.Oci.OciRuntime.ExecOwnerAsync(args[1], args[3], args[4]).ConfigureAwait(false);
    return await Sandbox.Cli.Oci.OciRuntime.RunAsync(name, args).ConfigureAwait(false);
}
return await CommandLine.RunAsync(args).ConfigureAwait(false);
