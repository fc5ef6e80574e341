// sandbox-init: PID 1 of every sandbox, container or micro-VM. See docs/init.md.
// The host starts it as `sandbox-init container ...` inside fresh namespaces; a guest kernel starts it as /init.
using Sandbox.Init;

return args.Length > 0 && args[0] == "container" ? ContainerBoot.Run(args[1..])
    : args.Length > 0 && args[0] == GuestWorkloadInit.Command ? GuestWorkloadInit.Run(args)
    : GuestBoot.Run(args);
